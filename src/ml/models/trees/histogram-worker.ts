/**
 * Helper thread of the boosting grower: builds the histogram of the second half of a large node's rows while the
 * growing thread builds the first half. Synchronised on shared control words (Atomics), not messages: a build
 * takes a millisecond or less, a message round trip about as long.
 */
import { parentPort } from 'node:worker_threads';
import { buildHistogram, CONTROL, STATE, type HistogramJob } from './histogram.js';

const port = parentPort;
if (!port) throw new Error('histogram-worker must run in a worker thread');

port.on('message', (job: HistogramJob) => {
  const { control, slots, cols, idx, gh, features, hist } = job;
  Atomics.store(control, CONTROL.ready, 1);
  for (;;) {
    const state = Atomics.load(control, CONTROL.state);
    if (state === STATE.stop) break;
    if (state === STATE.work) {
      hist.fill(0);
      const nf = Atomics.load(control, CONTROL.features);
      buildHistogram(
        hist,
        idx,
        Atomics.load(control, CONTROL.start),
        Atomics.load(control, CONTROL.end),
        gh,
        slots,
        cols,
        features,
        nf,
      );
      Atomics.store(control, CONTROL.state, STATE.done);
      Atomics.notify(control, CONTROL.state);
      continue;
    }
    Atomics.wait(control, CONTROL.state, state);
  }
  Atomics.store(control, CONTROL.ready, 0);
});
