/** Helper thread of predict-parallel.ts: walks the second half of a large batch's rows through the trees. */
import { parentPort } from 'node:worker_threads';
import type { PackedTrees } from './structure.js';
import { MAX_HELPER_MODELS, treesOf, type PredictJob } from './predict-parallel.js';

const port = parentPort;
if (!port) throw new Error('predict-worker must run in a worker thread');

/** Models by id, oldest dropped first (the calling thread tracks the same set). */
const models = new Map<number, PackedTrees>();

port.on('message', (job: PredictJob) => {
  const control = job.control;
  if (job.modelId === 0) {
    Atomics.store(control, 1, 1); // ready
    return;
  }
  let state = 3; // failed
  try {
    if (job.trees) {
      if (models.size >= MAX_HELPER_MODELS) models.delete(models.keys().next().value ?? 0);
      models.set(job.modelId, treesOf(job.trees));
    }
    const trees = models.get(job.modelId);
    if (trees) {
      trees.accumulate(job.input, job.rows, job.cols, job.output, job.outWidth);
      state = 2; // done
    }
  } finally {
    Atomics.store(control, 0, state);
    Atomics.notify(control, 0);
  }
});
