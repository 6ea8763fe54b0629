/**
 * A hyperparameter search as one worker-thread task (the search job of src/services/searches.ts): the run config's
 * task, features (leakage guard) and split, then `runSearch` over the rows a run may learn from (train +
 * validation; the test split stays for the best trial's refit, a normal run). Trials report over a MessagePort.
 */
import type { MessagePort } from 'node:worker_threads';
import { checkedSplit } from './data/split.js';
import type { DataLocation } from './data/location.js';
import { featureMatrix, selectFeatures, type LabeledTable } from './data/dataset.js';
import { taskTable, type PipelineConfig } from './pipeline.js';
import { takeLabels, takeRows } from './types.js';
import {
  cvEvaluator,
  runSearch,
  validationEvaluator,
  type SearchConfig,
  type SearchResult,
  type SearchScoring,
  type TrialResult,
  type TrialStart,
} from './selection/search.js';

/** A run's config without the model: what every trial shares. */
export type SearchRunConfig = Omit<PipelineConfig, 'modelType' | 'hyperparameters'>;

export type SearchMessage =
  { type: 'trialStart'; trial: TrialStart } | { type: 'trialEnd'; trial: TrialResult; best: TrialResult | null };

export interface SearchTaskOptions {
  /** The session's config (model type and parameters aside): task, features, split and seed. */
  run: SearchRunConfig;
  search: SearchConfig;
  scoring: SearchScoring;
  cvFolds: number;
  threads: number;
  signal?: AbortSignal;
  send: (message: SearchMessage) => void;
}

export async function searchTable(table: LabeledTable, options: SearchTaskOptions): Promise<SearchResult> {
  const { run } = options;
  const data = taskTable(table, run.task);
  const { features } = selectFeatures(data, {
    features: run.features ?? undefined,
    useVettingFeatures: run.useVettingFeatures,
  });
  const { split } = checkedSplit(data.labels, data.groups, data.classes, run.split, run.seed);
  const rows = Int32Array.from([...split.train, ...split.validation]).sort();
  const searchData = {
    X: takeRows(featureMatrix(data, features), rows),
    labels: takeLabels(data.labels, rows),
    groups: data.groups ? Array.from(rows, (r) => data.groups?.[r] ?? String(r)) : null,
    classes: data.classes,
  };
  let evaluator;
  if (options.scoring === 'CV_MACRO_F1') {
    evaluator = cvEvaluator(searchData, {
      folds: options.cvFolds,
      seed: options.search.seed,
      threads: options.threads,
    });
  } else {
    // Positions within `rows` of the train and the validation split.
    const isValidation = new Set(split.validation);
    const trainRows: number[] = [];
    const validationRows: number[] = [];
    rows.forEach((r, i) => (isValidation.has(r) ? validationRows : trainRows).push(i));
    evaluator = validationEvaluator(
      searchData,
      { trainRows: Int32Array.from(trainRows), validationRows: Int32Array.from(validationRows) },
      { seed: options.search.seed, threads: options.threads },
    );
  }
  return runSearch(options.search, evaluator, {
    signal: options.signal,
    onTrialStart: (trial) => {
      options.send({ type: 'trialStart', trial });
    },
    onTrialEnd: (trial, best) => {
      options.send({ type: 'trialEnd', trial, best });
    },
  });
}

/** The worker-thread task of a search job (src/ml/search-worker.ts runs it). */
export interface SearchTask {
  kind: 'search';
  location: DataLocation;
  run: SearchRunConfig;
  search: SearchConfig;
  scoring: SearchScoring;
  cvFolds: number;
  threads: number;
  port: MessagePort;
}
