/**
 * Worker thread of the random forest: grows the trees it is asked for on the shared binned matrix and posts
 * each one back. Trees depend only on their own seed, so which thread grows which tree does not matter.
 */
import { parentPort } from 'node:worker_threads';
import { Random } from '../../random.js';
import { growClassTree } from './grow.js';
import type { ForestWorkerData, TreeResult, WorkerMessage } from './forest-protocol.js';
import { lowerThisThreadPriority } from '../../thread-priority.js';

lowerThisThreadPriority();

const port = parentPort;
if (!port) throw new Error('forest-worker must run in a worker thread');
// The current job's data (binned matrix on a SharedArrayBuffer); the worker is reused across fits.
let job = 0;
let shared: ForestWorkerData | null = null;

port.on('message', (message: WorkerMessage) => {
  if (message.kind === 'release') {
    shared = null;
    return;
  }
  if (message.kind === 'job') {
    job = message.job;
    shared = message.data;
    return;
  }
  if (!shared || message.job !== job) return;
  const grown = growClassTree(shared.data, shared.y, shared.numClasses, shared.params, new Random(message.seed));
  const t = grown.tree;
  const result: TreeResult = { job, index: message.index, tree: t, importance: grown.importance };
  // The arrays are freshly allocated (never shared), so their buffers can be moved instead of copied.
  const buffers = [t.feature, t.threshold, t.left, t.right, t.defaultLeft, t.cover, t.values, grown.importance].map(
    (a) => a.buffer as ArrayBuffer,
  );
  port.postMessage(result, buffers);
});
