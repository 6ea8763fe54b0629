/**
 * Cross-validation of a run's configuration (the `cvFolds` run option of issue 14): the pipeline's task, feature
 * selection (leakage guard) and split, then grouped stratified k-fold over the rows the run may learn from (train +
 * validation; the test split stays untouched for the run's held-out metrics), each fold's model trained as
 * pipeline.ts trains it. Out-of-fold probabilities come with each row's id, so they can be stored with the run.
 */
import { checkedSplit } from '../data/split.js';
import { featureMatrix, selectFeatures, type LabeledTable } from '../data/dataset.js';
import { taskTable, type PipelineConfig } from '../pipeline.js';
import { takeLabels, takeRows } from '../types.js';
import { crossValidate, type CrossValidationResult, type CvProgress } from './cross-validate.js';
import { modelFoldTrainer } from './model-folds.js';

export interface RunCrossValidation extends CrossValidationResult {
  features: string[];
  /** Id of each cross-validated row (its id columns joined with " / ", else its row number), in OOF order. */
  rowIds: string[];
}

/** Id of each row: its id columns joined with " / ", else its row number (what run comparisons pair rows by). */
export function rowIdsOf(data: LabeledTable, rows: Int32Array): string[] {
  const idIndex = data.idColumns.map((c) => data.table.indexOf(c)).filter((c) => c !== -1);
  // Plain loops, no arrays per row: a 200,000-row table holds out 40,000 test rows, named after every fit.
  const ids = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    let id = '';
    for (const c of idIndex) {
      const value = data.table.cell(r, c);
      if (value !== '') id = id === '' ? value : `${id} / ${value}`;
    }
    ids[i] = id === '' ? `row ${r + 1}` : id;
  }
  return ids;
}

export async function crossValidateRun(
  table: LabeledTable,
  config: PipelineConfig,
  folds: number,
  hooks: { signal?: AbortSignal; threads?: number; onProgress?: (event: CvProgress) => void } = {},
): Promise<RunCrossValidation> {
  const data = taskTable(table, config.task);
  const { features } = selectFeatures(data, {
    features: config.features ?? undefined,
    useVettingFeatures: config.useVettingFeatures,
  });
  const { split } = checkedSplit(data.labels, data.groups, data.classes, config.split, config.seed);
  const rows = Int32Array.from([...split.train, ...split.validation]).sort();
  const X = takeRows(featureMatrix(data, features), rows);
  const labels = takeLabels(data.labels, rows);
  const groups = data.groups ? Array.from(rows, (r) => data.groups?.[r] ?? String(r)) : null;
  const rowIds = rowIdsOf(data, rows);
  const result = await crossValidate(
    modelFoldTrainer({
      X,
      labels,
      groups,
      numClasses: data.classes.length,
      modelType: config.modelType,
      hyperparameters: config.hyperparameters,
      threads: hooks.threads,
    }),
    {
      labels,
      groups,
      classes: data.classes,
      folds,
      seed: config.seed,
      signal: hooks.signal,
      onProgress: hooks.onProgress,
    },
  );
  return { ...result, features, rowIds };
}
