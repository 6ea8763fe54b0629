/**
 * Helper thread of the boosting grower: takes jobs (split searches, partitions, histogram builds; grow-jobs.ts) of
 * each batch from the queue the growing thread also takes them from (grow-helper.ts).
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { CONTROL, serveJobs, type HistogramJob, type HistogramMessage } from './grow-helper.js';
import { lowerThisThreadPriority } from '../../thread-priority.js';

// A training thread like the growing thread it helps: it yields the CPU to the server's event loop.
lowerThisThreadPriority();

const port = parentPort;
if (!port) throw new Error('histogram-worker must run in a worker thread');

/** Spins this many checks of the control word before sleeping: batches follow each other within microseconds. */
const SPIN_CHECKS = 2000;

port.on('message', (job: HistogramJob) => {
  const { control, arrays, histograms } = job;
  const known = new Map<number, Float64Array>();
  const hist = (id: number): Float64Array => {
    for (let h = known.get(id); ; h = known.get(id)) {
      if (h) return h;
      const received = receiveMessageOnPort(histograms);
      if (!received) throw new Error(`histogram ${id} was never shared with the helper thread`);
      const message = received.message as HistogramMessage;
      known.set(message.id, new Float64Array(message.buffer));
    }
  };
  Atomics.store(control, CONTROL.ready, 1);
  for (;;) {
    if (Atomics.load(control, CONTROL.stop) === 1) break;
    const generation = Atomics.load(control, CONTROL.generation);
    serveJobs(control, arrays, hist);
    let spins = 0;
    while (spins < SPIN_CHECKS && Atomics.load(control, CONTROL.generation) === generation) spins++;
    Atomics.wait(control, CONTROL.generation, generation);
  }
  histograms.close();
  Atomics.store(control, CONTROL.ready, 0);
});

// prestartedHistogramHelper (grow-helper.ts) waits for this.
port.postMessage('loaded');
