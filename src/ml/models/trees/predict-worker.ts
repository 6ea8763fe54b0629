/**
 * Helper thread of predict-parallel.ts: walks the second half of a large batch's rows through the trees, the
 * second part of a row's TreeSHAP walk, or the second half of the trees of an exact permutation.
 */
import { parentPort } from 'node:worker_threads';
import type { PackedTrees } from './structure.js';
import {
  MAX_HELPER_MODELS,
  treesOf,
  type ExplainJob,
  type PermuteJob,
  type PredictJob,
  type SvmPermuteJob,
  type SvmPredictJob,
} from './predict-parallel.js';
import { predictProbaState } from '../svm/model.js';
import { svmShuffledProba } from '../../explain/svm-permutation.js';
import { permuteTrees } from '../../explain/tree-permutation.js';
import { explainOutput, type OutputTrees } from './treeshap.js';

const port = parentPort;
if (!port) throw new Error('predict-worker must run in a worker thread');

/** Models by id, oldest dropped first (the calling thread tracks the same set). */
const models = new Map<number, { packed: PackedTrees } | { output: OutputTrees }>();

function keep(id: number, model: { packed: PackedTrees } | { output: OutputTrees }): void {
  if (models.size >= MAX_HELPER_MODELS) models.delete(models.keys().next().value ?? 0);
  models.set(id, model);
}

port.on('message', (job: PredictJob | ExplainJob | PermuteJob | SvmPermuteJob | SvmPredictJob) => {
  const control = job.control;
  if (job.modelId === 0) {
    Atomics.store(control, 1, 1); // ready
    return;
  }
  let state = 3; // failed
  try {
    if (job.kind === 'predict') {
      if (job.trees) keep(job.modelId, { packed: treesOf(job.trees) });
      const model = models.get(job.modelId);
      if (model && 'packed' in model) {
        model.packed.accumulate(job.input, job.rows, job.cols, job.output, job.outWidth);
        state = 2; // done
      }
    } else if (job.kind === 'svm-predict') {
      job.output.set(predictProbaState(job.state, { rows: job.rows, cols: job.state.numFeatures, data: job.input }));
      state = 2;
    } else if (job.kind === 'svm-permute') {
      svmShuffledProba(job.work, job.from, job.to, job.out);
      state = 2;
    } else if (job.kind === 'permute') {
      if (job.trees) keep(job.modelId, { packed: treesOf(job.trees) });
      const model = models.get(job.modelId);
      if (model && 'packed' in model) {
        permuteTrees(model.packed, job.work, job.from, job.to, job.deltas, job.baseSum);
        state = 2;
      }
    } else {
      if (job.trees) keep(job.modelId, { output: job.trees });
      const model = models.get(job.modelId);
      if (model && 'output' in model) {
        explainOutput(model.output, job.row, job.phi, job.from, job.to);
        state = 2;
      }
    }
  } finally {
    Atomics.store(control, 0, state);
    Atomics.notify(control, 0);
  }
});
