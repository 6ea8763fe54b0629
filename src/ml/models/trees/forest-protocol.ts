/** Messages between the random forest trainer and its worker threads. */
import type { BinnedData, ClassTreeParams } from './grow.js';
import type { TreeArrays } from './structure.js';

export interface ForestWorkerData {
  /** Column-major bins on a SharedArrayBuffer. */
  data: BinnedData;
  y: Int32Array;
  numClasses: number;
  params: ClassTreeParams;
}

/** main → worker: a job's shared data, a tree to grow, or "job over, drop the data". */
export type WorkerMessage =
  | { kind: 'job'; job: number; data: ForestWorkerData }
  | { kind: 'tree'; job: number; index: number; seed: number }
  | { kind: 'release' };

/** worker → main. */
export interface TreeResult {
  job: number;
  index: number;
  tree: TreeArrays;
  importance: Float64Array;
}
