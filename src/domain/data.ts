/**
 * What a dataset and a split are, as every layer sees them (ML, storage, GraphQL, REST). Pure: no GraphQL, DB or
 * HTTP imports.
 */
export type { MissionId } from '../ml/data/missions.js';

/** THREE_CLASS: false_positive / candidate / planet; BINARY: planet vs false_positive (candidates left out). */
export const TASKS = ['THREE_CLASS', 'BINARY'] as const;
export type Task = (typeof TASKS)[number];

/** Shares of the rows per split (train + validation + test = 1). */
export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

/** Rows per split of a trained run. */
export interface SplitCounts {
  train: number;
  validation: number;
  test: number;
}

/** Labelled rows of one class. */
export interface ClassCount {
  label: string;
  count: number;
}
