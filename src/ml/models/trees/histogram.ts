/**
 * Gradient histograms of XGBoost's grower (grow-gradient.ts), shared by the growing thread and its helper thread
 * (histogram-worker.ts): the loop that adds rows' (gradient, hessian) into histogram slots, and the protocol that
 * hands half of a large node's rows to the helper.
 */
import type { Worker } from 'node:worker_threads';
import { spawnTreeWorker } from './common.js';

/** Histogram slot of every (row, feature), row-major; Uint16 while the slots fit. */
export type SlotMatrix = Uint16Array | Uint32Array;

/**
 * Adds (g, h) of rows idx[start, end) into `hist` (interleaved: g at 2·slot, h at 2·slot + 1) for the first
 * `nf` entries of `features` (all `cols` features when nf = cols), row by row so each row's gradients are read once.
 * Four rows at a time, feature by feature: four independent read-add-writes in flight instead of one (~35 % faster
 * on 140,000 rows × 20 features). Every slot still receives its rows in index order (a feature's slots are its
 * own), so the sums are bit for bit those of one row at a time.
 */
export function buildHistogram(
  hist: Float64Array,
  idx: Uint32Array,
  start: number,
  end: number,
  gh: Float64Array,
  slots: SlotMatrix,
  cols: number,
  features: Int32Array,
  nf: number,
): void {
  // Two copies of the loop: indexing through `features` when all are used costs ~20 %.
  if (nf === cols) {
    let i = start;
    for (; i + 3 < end; i += 4) {
      const r0 = idx[i];
      const r1 = idx[i + 1];
      const r2 = idx[i + 2];
      const r3 = idx[i + 3];
      const g0 = gh[2 * r0];
      const h0 = gh[2 * r0 + 1];
      const g1 = gh[2 * r1];
      const h1 = gh[2 * r1 + 1];
      const g2 = gh[2 * r2];
      const h2 = gh[2 * r2 + 1];
      const g3 = gh[2 * r3];
      const h3 = gh[2 * r3 + 1];
      const b0 = r0 * cols;
      const b1 = r1 * cols;
      const b2 = r2 * cols;
      const b3 = r3 * cols;
      for (let f = 0; f < cols; f++) {
        const o0 = slots[b0 + f] << 1;
        hist[o0] += g0;
        hist[o0 + 1] += h0;
        const o1 = slots[b1 + f] << 1;
        hist[o1] += g1;
        hist[o1 + 1] += h1;
        const o2 = slots[b2 + f] << 1;
        hist[o2] += g2;
        hist[o2 + 1] += h2;
        const o3 = slots[b3 + f] << 1;
        hist[o3] += g3;
        hist[o3 + 1] += h3;
      }
    }
    for (; i < end; i++) {
      const r = idx[i];
      const g = gh[2 * r];
      const h = gh[2 * r + 1];
      const base = r * cols;
      for (let f = 0; f < cols; f++) {
        const o = slots[base + f] << 1;
        hist[o] += g;
        hist[o + 1] += h;
      }
    }
    return;
  }
  let i = start;
  for (; i + 3 < end; i += 4) {
    const r0 = idx[i];
    const r1 = idx[i + 1];
    const r2 = idx[i + 2];
    const r3 = idx[i + 3];
    const g0 = gh[2 * r0];
    const h0 = gh[2 * r0 + 1];
    const g1 = gh[2 * r1];
    const h1 = gh[2 * r1 + 1];
    const g2 = gh[2 * r2];
    const h2 = gh[2 * r2 + 1];
    const g3 = gh[2 * r3];
    const h3 = gh[2 * r3 + 1];
    const b0 = r0 * cols;
    const b1 = r1 * cols;
    const b2 = r2 * cols;
    const b3 = r3 * cols;
    for (let j = 0; j < nf; j++) {
      const f = features[j];
      const o0 = slots[b0 + f] << 1;
      hist[o0] += g0;
      hist[o0 + 1] += h0;
      const o1 = slots[b1 + f] << 1;
      hist[o1] += g1;
      hist[o1 + 1] += h1;
      const o2 = slots[b2 + f] << 1;
      hist[o2] += g2;
      hist[o2 + 1] += h2;
      const o3 = slots[b3 + f] << 1;
      hist[o3] += g3;
      hist[o3 + 1] += h3;
    }
  }
  for (; i < end; i++) {
    const r = idx[i];
    const g = gh[2 * r];
    const h = gh[2 * r + 1];
    const base = r * cols;
    for (let j = 0; j < nf; j++) {
      const o = slots[base + features[j]] << 1;
      hist[o] += g;
      hist[o + 1] += h;
    }
  }
}

/** Control words (Int32Array on a SharedArrayBuffer). */
export const CONTROL = { state: 0, start: 1, end: 2, features: 3, ready: 4, length: 5 } as const;
/** Values of CONTROL.state. The helper waits while the state is neither WORK nor STOP. */
export const STATE = { idle: 0, work: 1, done: 2, stop: 3 } as const;

/** main → helper: the fit's shared arrays; the helper then serves builds until the state is STOP. */
export interface HistogramJob {
  control: Int32Array;
  slots: SlotMatrix;
  cols: number;
  idx: Uint32Array;
  gh: Float64Array;
  features: Int32Array;
  /** The helper's own histogram (zeroed by the helper before each build). */
  hist: Float64Array;
}

/** Idle helpers kept between fits (unref'd: they never keep the process alive). */
const idleHelpers: Worker[] = [];

/**
 * The growing thread's side of a helper thread: `begin` hands it rows [start, end) (it builds them into `hist`),
 * `finish` waits until it is done. A helper that has not started yet (`ready` false) is simply not used: the
 * caller builds both halves itself, with the same result.
 */
export class HistogramHelper {
  private constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    readonly hist: Float64Array,
  ) {}

  /** A helper serving builds from these shared arrays (each on a SharedArrayBuffer). */
  static start(shared: Omit<HistogramJob, 'control' | 'hist'>, histSize: number): HistogramHelper {
    const control = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
    const hist = new Float64Array(new SharedArrayBuffer(histSize * 8));
    const worker = idleHelpers.pop() ?? spawnTreeWorker('histogram-worker');
    worker.removeAllListeners();
    worker.unref();
    const job: HistogramJob = { ...shared, control, hist };
    worker.postMessage(job);
    return new HistogramHelper(worker, control, hist);
  }

  get ready(): boolean {
    return Atomics.load(this.control, CONTROL.ready) === 1;
  }

  begin(start: number, end: number, features: number): void {
    const c = this.control;
    Atomics.store(c, CONTROL.start, start);
    Atomics.store(c, CONTROL.end, end);
    Atomics.store(c, CONTROL.features, features);
    Atomics.store(c, CONTROL.state, STATE.work);
    Atomics.notify(c, CONTROL.state);
  }

  finish(): void {
    const c = this.control;
    while (Atomics.load(c, CONTROL.state) === STATE.work) {
      if (Atomics.wait(c, CONTROL.state, STATE.work, HELPER_TIMEOUT_MS) === 'timed-out')
        throw new Error(`histogram helper thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`);
    }
  }

  /** Stops serving this fit; the thread waits, idle, for the next one. */
  release(): void {
    Atomics.store(this.control, CONTROL.state, STATE.stop);
    Atomics.notify(this.control, CONTROL.state);
    const worker = this.worker;
    if (idleHelpers.length >= 2) {
      void worker.terminate();
      return;
    }
    const drop = (): void => {
      const i = idleHelpers.indexOf(worker);
      if (i >= 0) idleHelpers.splice(i, 1);
    };
    worker.on('error', drop);
    worker.on('exit', drop);
    idleHelpers.push(worker);
  }
}

const HELPER_TIMEOUT_MS = 60_000;
