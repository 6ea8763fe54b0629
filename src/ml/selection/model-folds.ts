/**
 * The FoldTrainer of a catalog model, as the pipeline trains it (pipeline.ts): the model's preprocessing (median
 * imputation, scaling) fitted on the fold's training rows only, then the model's trainer with the run's seed.
 */
import { getModelSpec } from '../catalog.js';
import { groupedStratifiedSplit } from '../data/split.js';
import { fitPreprocessor } from '../preprocess.js';
import { trainerFor } from '../models/registry.js';
import { takeLabels, takeRows, type Hyperparameters, type Matrix, type ModelTypeId } from '../types.js';
import type { FoldTrainer } from './cross-validate.js';

export interface ModelFoldOptions {
  /** Raw features of every row (NaN = missing), rows as the labels. */
  X: Matrix;
  labels: Int32Array;
  groups: readonly string[] | null;
  numClasses: number;
  modelType: ModelTypeId;
  /** Raw or resolved; the catalog checks them. */
  hyperparameters: Hyperparameters;
  threads?: number;
  /**
   * Share of each fold's training rows kept as the model's validation data (grouped by star, stratified), for models
   * that early-stop (xgboost's early_stopping_rounds, the network's patience); 0 (default) gives them none.
   */
  validationShare?: number;
  /**
   * Share of each fold's training rows the model trains on (grouped, stratified, seeded): successive halving's row
   * budget. 1 (default) is all of them.
   */
  rowFraction?: number;
}

/** Rows of `rows` kept by a grouped stratified draw of `share` of them, and the rest. */
function splitRows(
  rows: Int32Array,
  options: ModelFoldOptions,
  share: number,
  seed: number,
): { kept: Int32Array; rest: Int32Array } {
  const labels = takeLabels(options.labels, rows);
  const groups = options.groups ? Array.from(rows, (r) => options.groups?.[r] ?? String(r)) : null;
  const split = groupedStratifiedSplit(
    labels,
    groups,
    options.numClasses,
    {
      train: share,
      validation: 0,
      test: 1 - share,
    },
    seed,
  );
  return { kept: Int32Array.from(split.train, (i) => rows[i]), rest: Int32Array.from(split.test, (i) => rows[i]) };
}

export function modelFoldTrainer(options: ModelFoldOptions): FoldTrainer {
  const spec = getModelSpec(options.modelType);
  const trainer = trainerFor(options.modelType);
  return async (trainRows, context) => {
    let rows = trainRows;
    const fraction = options.rowFraction ?? 1;
    if (fraction < 1) rows = splitRows(rows, options, fraction, context.seed + context.fold).kept;
    let validationRows: Int32Array | null = null;
    const validationShare = options.validationShare ?? 0;
    if (validationShare > 0) {
      const parts = splitRows(rows, options, 1 - validationShare, context.seed + 1000 + context.fold);
      rows = parts.kept;
      validationRows = parts.rest;
    }
    const rawTrain = takeRows(options.X, rows);
    const preprocessor = fitPreprocessor(rawTrain, spec.preprocessing);
    const model = await trainer.fit(
      preprocessor.transform(rawTrain),
      takeLabels(options.labels, rows),
      options.numClasses,
      options.hyperparameters,
      {
        seed: context.seed,
        signal: context.signal,
        onStep: context.onStep,
        threads: options.threads ?? 1,
        validation: validationRows
          ? {
              X: preprocessor.transform(takeRows(options.X, validationRows)),
              y: takeLabels(options.labels, validationRows),
            }
          : undefined,
      },
    );
    return (testRows) => model.predictProba(preprocessor.transform(takeRows(options.X, testRows)));
  };
}
