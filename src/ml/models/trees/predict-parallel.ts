/**
 * Prediction of large batches on two threads: the calling thread walks the first half of the rows while a helper
 * thread (predict-worker.ts) walks the second half through the same trees. Each row's sum is computed exactly as
 * on one thread (same code, trees in the same order), so outputs are bit-identical whatever the thread count.
 *
 * The helper gets a model's arrays once (copied to shared memory, cached per model) and each call's rows through a
 * shared buffer; the calling thread waits for it on a shared control word (predictProba is synchronous). A helper
 * that has not finished starting is not waited for: that call runs on one thread.
 * The same helper walks half of a large forest's trees for TreeSHAP (explainInTwoParts, used by treeShap) and for
 * the exact permutation importance (permuteInTwoParts, used by forestPermutationImportance).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { idleMsFromEnv } from '../../cache.js';
import { spawnTreeWorker } from './common.js';
import { PackedTrees, type CompiledTrees } from './structure.js';
import type { OutputTrees } from './treeshap.js';
import type { Matrix } from '../../types.js';
import { permuteTrees, type PermuteWork } from '../../explain/tree-permutation.js';
import { svmShuffledProba, type SvmPermuteWork } from '../../explain/svm-permutation.js';
import { predictProbaState, type SvmState } from '../svm/model.js';

/** Threads a large batch is predicted on (1 or 2); tests and benchmarks compare both. */
export const predictThreads = { count: Math.min(2, availableParallelism()) };

/** Work the helper thread did (tests check that the two-thread paths were taken). */
export const helperStats = { batches: 0, explainParts: 0, permuteParts: 0, svmPermuteParts: 0, svmBatches: 0 };

/**
 * Below this many rows × trees a batch runs on the calling thread (a handshake costs ~0.1 ms; 50,000 rows × trees
 * are ~5 ms of a deep forest's walks, ~1 ms of boosting's). The evaluation predicts the test split in tenths: at
 * 50,000 table rows a 100-tree forest's tenth is 150,000.
 */
export const PARALLEL_PREDICT_MIN_WORK = 50_000;
const HELPER_TIMEOUT_MS = 60_000;
/** Models the helper keeps (oldest dropped first). */
export const MAX_HELPER_MODELS = 8;
/**
 * The helper ends after this long unused (WORKER_IDLE_SECONDS): it holds up to MAX_HELPER_MODELS models' arrays, its
 * batch buffers and its own heap, and on the event loop (predictions there) nothing else would end it. The next large
 * batch starts a new one. Settable for tests.
 */
export const predictHelperIdle = { ms: idleMsFromEnv() };

/** Control words: [state, ready]. */
const STATE = 0;
const READY = 1;
const IDLE = 0;
const WORK = 1;
const DONE = 2;

/** The arrays of a PackedTrees, on SharedArrayBuffers. */
export interface SharedTrees {
  id: number;
  treeStart: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  cover: Float64Array;
  values: Float64Array;
  valueWidth: number;
  treeOutput: Int32Array | null;
  /** The calling thread's prediction layout: the helper uses it instead of building a copy of its own. */
  layout: CompiledTrees;
}

/** main → helper. `trees` only when the helper has not seen the model `modelId` yet. */
export interface PredictJob {
  kind: 'predict';
  control: Int32Array;
  modelId: number;
  trees: SharedTrees | null;
  input: Float64Array;
  output: Float64Array;
  rows: number;
  cols: number;
  outWidth: number;
}

/** main → helper: TreeSHAP of one row, kept trees [from, to) of one output's trees, added into `phi` (zeroed). */
export interface ExplainJob {
  kind: 'explain';
  control: Int32Array;
  modelId: number;
  trees: OutputTrees | null;
  row: Float64Array;
  phi: Float64Array;
  from: number;
  to: number;
}

/**
 * main → helper: trees [from, to) of one feature group of an exact permutation (explain/tree-permutation.ts), added
 * into `deltas` and `baseSum` (zeroed); `work`'s arrays are shared memory.
 */
export interface PermuteJob {
  kind: 'permute';
  control: Int32Array;
  modelId: number;
  trees: SharedTrees | null;
  work: PermuteWork;
  from: number;
  to: number;
  deltas: Float64Array;
  baseSum: Float64Array;
}

/** main → helper: an SVM's probabilities of `rows` rows (svmPredictRows). */
export interface SvmPredictJob {
  kind: 'svm-predict';
  control: Int32Array;
  modelId: number;
  state: SvmState;
  input: Float64Array;
  rows: number;
  output: Float64Array;
}

/** Below this many rows × support vectors an SVM batch runs on the calling thread (~20 ms of kernel values). */
export const PARALLEL_SVM_MIN_WORK = 2_000_000;

/** main → helper: an SVM permutation's shuffled copies of sample places [from, to) (svm-permutation.ts). */
export interface SvmPermuteJob {
  kind: 'svm-permute';
  control: Int32Array;
  modelId: number;
  work: SvmPermuteWork;
  from: number;
  to: number;
  out: Float64Array;
}

/**
 * Below this many walked rows × trees a permutation runs on the calling thread alone. A row's step through a tree
 * there is a walk plus a check per feature (and re-walks), so 20,000 is already ~20 ms of work; copying the rows and
 * entries to shared memory costs well under a millisecond.
 */
export const PARALLEL_PERMUTE_MIN_WORK = 20_000;

/** Below this many nodes (~2 ms of TreeSHAP) a row is explained on the calling thread alone. */
export const PARALLEL_EXPLAIN_MIN_NODES = 20_000;

function shared<T extends Int32Array | Float64Array | Uint8Array>(a: T): T {
  const copy = new (a.constructor as new (buffer: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

let nextModelId = 1;
const sharedModels = new WeakMap<PackedTrees, SharedTrees>();

function sharedTrees(trees: PackedTrees): SharedTrees {
  let s = sharedModels.get(trees);
  if (!s) {
    // A model's arrays never change: those already on shared memory (PackedTrees.pack) are sent as they are.
    const share = <T extends Int32Array | Float64Array | Uint8Array>(a: T): T =>
      a.buffer instanceof SharedArrayBuffer ? a : shared(a);
    s = {
      id: nextModelId++,
      treeStart: share(trees.treeStart),
      feature: share(trees.feature),
      threshold: share(trees.threshold),
      left: share(trees.left),
      right: share(trees.right),
      defaultLeft: share(trees.defaultLeft),
      cover: share(trees.cover),
      values: share(trees.values),
      valueWidth: trees.valueWidth,
      treeOutput: trees.treeOutput ? share(trees.treeOutput) : null,
      layout: trees.predictLayout(),
    };
    sharedModels.set(trees, s);
  }
  return s;
}

/** Rebuilds the model on the helper's side. */
export function treesOf(s: SharedTrees): PackedTrees {
  const trees = new PackedTrees(
    s.treeStart,
    s.feature,
    s.threshold,
    s.left,
    s.right,
    s.defaultLeft,
    s.cover,
    s.values,
    s.valueWidth,
    s.treeOutput,
  );
  trees.adoptPredictLayout(s.layout);
  return trees;
}

const outputModelIds = new WeakMap<OutputTrees, number>();

/** The id the helper knows an output's trees by (their arrays are shared memory already, see treeshap.ts). */
function outputModelId(trees: OutputTrees): number {
  let id = outputModelIds.get(trees);
  if (id === undefined) {
    id = nextModelId++;
    outputModelIds.set(trees, id);
  }
  return id;
}

interface Helper {
  worker: Worker;
  control: Int32Array;
  /** Models the helper holds (by id), PackedTrees and OutputTrees alike. */
  known: Set<number>;
  input: Float64Array;
  output: Float64Array;
  /** An explain job's row and phi. */
  row: Float64Array;
  phi: Float64Array;
  broken: boolean;
  idleTimer: NodeJS.Timeout | null;
  /** The idle timer has seen it ready once: the idle time counts from then. */
  seenReady: boolean;
}
let helper: Helper | null = null;

/** Ends the helper (idle): its models and buffers go with its thread. */
function endHelper(h: Helper): void {
  if (helper === h) helper = null;
  h.broken = true;
  void h.worker.terminate();
}

/** The helper, started if needed; every use restarts its idle timer (callers wait for it synchronously). */
function theHelper(): Helper {
  const h = helper && !helper.broken ? helper : startHelper();
  if (h.idleTimer) h.idleTimer.refresh();
  else {
    const timer = setTimeout(() => {
      // Still starting (a loaded machine), or ready only since the last tick: the idle time counts from when it
      // could first have been used (a helper that became ready just before the tick was ended unused).
      const ready = Atomics.load(h.control, READY) === 1;
      if (!h.broken && (!ready || !h.seenReady)) {
        h.seenReady = ready;
        timer.refresh();
      } else endHelper(h);
    }, predictHelperIdle.ms);
    h.idleTimer = timer;
    timer.unref();
  }
  return h;
}

/** The helper (started if needed) when it is ready and not busy with another batch; null: the caller works alone. */
function freeHelper(): Helper | null {
  const h = theHelper();
  return Atomics.load(h.control, READY) === 1 && Atomics.load(h.control, STATE) !== WORK ? h : null;
}

/** Marks the helper busy and hands it the job; the caller then waits with helperFinished. */
function post(h: Helper, job: PredictJob | ExplainJob | PermuteJob | SvmPredictJob | SvmPermuteJob): void {
  Atomics.store(h.control, STATE, WORK);
  h.worker.postMessage(job);
}

function startHelper(): Helper {
  const worker = spawnTreeWorker('predict-worker');
  worker.unref();
  const h: Helper = {
    worker,
    control: new Int32Array(new SharedArrayBuffer(8)),
    known: new Set(),
    input: new Float64Array(0),
    output: new Float64Array(0),
    row: new Float64Array(0),
    phi: new Float64Array(0),
    broken: false,
    idleTimer: null,
    seenReady: false,
  };
  const fail = (): void => {
    h.broken = true;
  };
  worker.on('error', fail);
  worker.on('exit', fail);
  // The helper answers this first message by setting READY.
  worker.postMessage({
    kind: 'predict',
    control: h.control,
    modelId: 0,
    trees: null,
    input: h.input,
    output: h.output,
    rows: 0,
  });
  helper = h;
  return h;
}

function sharedFloats(current: Float64Array, length: number): Float64Array {
  return current.length >= length ? current : new Float64Array(new SharedArrayBuffer(Math.ceil(length * 1.25) * 8));
}

/**
 * `trees.accumulate(data, rows, cols, out, outWidth)`, the second half of the rows on the helper thread when the
 * batch is large enough and `threads` ≥ 2.
 */
export function accumulateRows(
  trees: PackedTrees,
  data: Float64Array,
  rows: number,
  cols: number,
  out: Float64Array,
  outWidth: number,
  threads: number,
): void {
  if (threads < 2 || rows < 2 || rows * trees.treeCount < PARALLEL_PREDICT_MIN_WORK) {
    trees.accumulate(data, rows, cols, out, outWidth);
    return;
  }
  const h = freeHelper();
  if (!h) {
    trees.accumulate(data, rows, cols, out, outWidth);
    return;
  }
  const mid = rows >>> 1;
  const rest = rows - mid;
  h.input = sharedFloats(h.input, rest * cols);
  h.output = sharedFloats(h.output, rest * outWidth);
  const input = h.input.subarray(0, rest * cols);
  const output = h.output.subarray(0, rest * outWidth);
  input.set(data.subarray(mid * cols, rows * cols));
  output.set(out.subarray(mid * outWidth, rows * outWidth));
  const model = sharedTrees(trees);
  const job: PredictJob = {
    kind: 'predict',
    control: h.control,
    modelId: model.id,
    trees: h.known.has(model.id) ? null : model,
    input,
    output,
    rows: rest,
    cols,
    outWidth,
  };
  remember(h, model.id);
  post(h, job);
  trees.accumulate(data.subarray(0, mid * cols), mid, cols, out.subarray(0, mid * outWidth), outWidth);
  if (helperFinished(h)) helperStats.batches++;
  else {
    // The helper failed on this batch: finish it here.
    h.broken = true;
    trees.accumulate(data.subarray(mid * cols), rest, cols, out.subarray(mid * outWidth), outWidth);
    return;
  }
  out.set(output, mid * outWidth);
  Atomics.store(h.control, STATE, IDLE);
}

/** The helper keeps MAX_HELPER_MODELS models and drops the oldest first, as this set does. */
function remember(h: Helper, id: number): void {
  if (h.known.has(id)) return;
  if (h.known.size >= MAX_HELPER_MODELS) h.known.delete(h.known.values().next().value ?? 0);
  h.known.add(id);
}

/** Waits for the helper's job: true when it is done, false when it failed (the caller does its part itself). */
function helperFinished(h: Helper): boolean {
  while (Atomics.load(h.control, STATE) === WORK) {
    if (Atomics.wait(h.control, STATE, WORK, HELPER_TIMEOUT_MS) === 'timed-out') {
      h.broken = true;
      void h.worker.terminate();
      throw new Error(`prediction helper thread did not answer within ${HELPER_TIMEOUT_MS / 1000} s`);
    }
  }
  return Atomics.load(h.control, STATE) === DONE;
}

/**
 * TreeSHAP of one row as two parts, kept trees [0, half) and [half, end), summed at the end: the second part on the
 * helper thread while this one walks the first, when `threads` ≥ 2, the output's trees are large enough and the
 * helper is free. `walk` adds trees [from, to) into a zeroed phi; the result has the same bits either way.
 */
export function explainInTwoParts(
  trees: OutputTrees,
  row: Float64Array,
  threads: number,
  walk: (trees: OutputTrees, row: Float64Array, phi: Float64Array, from: number, to: number) => void,
): Float64Array {
  const M = trees.numFeatures;
  const end = trees.points.length;
  const phi = new Float64Array(M);
  let second: Float64Array | null = null;
  const h = threads >= 2 && trees.treeStart[end] >= PARALLEL_EXPLAIN_MIN_NODES ? freeHelper() : null;
  if (h) {
    if (h.row.length < M) {
      h.row = new Float64Array(new SharedArrayBuffer(M * 8));
      h.phi = new Float64Array(new SharedArrayBuffer(M * 8));
    }
    const input = h.row.subarray(0, M);
    const output = h.phi.subarray(0, M);
    input.set(row);
    output.fill(0);
    const id = outputModelId(trees);
    const job: ExplainJob = {
      kind: 'explain',
      control: h.control,
      modelId: id,
      trees: h.known.has(id) ? null : trees,
      row: input,
      phi: output,
      from: trees.half,
      to: end,
    };
    remember(h, id);
    post(h, job);
    walk(trees, row, phi, 0, trees.half);
    if (helperFinished(h)) {
      second = output.slice();
      helperStats.explainParts++;
    } else h.broken = true;
    Atomics.store(h.control, STATE, IDLE);
  } else walk(trees, row, phi, 0, trees.half);
  if (!second) {
    second = new Float64Array(M);
    walk(trees, row, second, trees.half, end);
  }
  for (let j = 0; j < M; j++) phi[j] += second[j];
  return phi;
}

/**
 * An exact permutation's trees as two parts, [0, half) on this thread and [half, T) on the helper, when `threads` ≥ 2,
 * the work is large enough and the helper is free; the helper's sums are added to this thread's at the end (so sums
 * differ from one thread's only in the order of floating-point additions). `onTree(done)` counts trees of T.
 * `treeWeight`: how many of the model's trees each of `trees` stands for (where the split falls).
 */
export function permuteInTwoParts(
  trees: PackedTrees,
  work: PermuteWork,
  deltas: Float64Array,
  baseSum: Float64Array,
  threads: number,
  onTree: (done: number) => void,
  treeWeight = 1,
): void {
  const T = trees.treeCount;
  // Split where the model's whole tree list splits (each tree here stands for `treeWeight` of its trees: 2 for a
  // mirrored model's class 0 trees), so every sum is added in the same groups as when walking every tree (same bits).
  const half = Math.ceil(((T * treeWeight) >>> 1) / treeWeight);
  const h =
    threads >= 2 && half > 0 && half < T && work.walkRows.length * T * treeWeight >= PARALLEL_PERMUTE_MIN_WORK
      ? freeHelper()
      : null;
  if (!h) {
    permuteTrees(trees, work, 0, T, deltas, baseSum, onTree);
    return;
  }
  const model = sharedTrees(trees);
  const helperDeltas = new Float64Array(new SharedArrayBuffer(deltas.byteLength));
  const helperBase = new Float64Array(new SharedArrayBuffer(baseSum.byteLength));
  const job: PermuteJob = {
    kind: 'permute',
    control: h.control,
    modelId: model.id,
    trees: h.known.has(model.id) ? null : model,
    work: {
      ...work,
      data: shared(work.data),
      walkRows: shared(work.walkRows),
      entriesOfRow: shared(work.entriesOfRow),
      shuffled: shared(work.shuffled),
    },
    from: half,
    to: T,
    deltas: helperDeltas,
    baseSum: helperBase,
  };
  remember(h, model.id);
  post(h, job);
  // This thread's half reports its trees scaled to all T; the last step waits for the helper.
  permuteTrees(trees, work, 0, half, deltas, baseSum, (done) => {
    if (done < half) onTree(Math.floor((done * T) / half));
  });
  if (helperFinished(h)) {
    helperStats.permuteParts++;
    for (let i = 0; i < deltas.length; i++) deltas[i] += helperDeltas[i];
    if (work.withBase) for (let i = 0; i < baseSum.length; i++) baseSum[i] += helperBase[i];
    Atomics.store(h.control, STATE, IDLE);
  } else {
    h.broken = true;
    permuteTrees(trees, work, half, T, deltas, baseSum);
  }
  onTree(T);
}

/**
 * An SVM's probabilities (predictProbaState), the second half of the rows on the helper thread when `threads` ≥ 2,
 * the batch is large enough and the helper is free; each row is predicted by the same code either way (same bits).
 * The model goes with the job (structured clone of its support vectors: ~1 ms per MB, against tens of ms of work).
 */
export function svmPredictRows(state: SvmState, X: Matrix, threads: number): Float64Array {
  const h =
    threads >= 2 && X.rows >= 2 && X.rows * state.numSupportVectors >= PARALLEL_SVM_MIN_WORK ? freeHelper() : null;
  if (!h) return predictProbaState(state, X);
  const K = state.numClasses;
  const mid = X.rows >>> 1;
  const rest = X.rows - mid;
  const input = new Float64Array(new SharedArrayBuffer(rest * X.cols * 8));
  input.set(X.data.subarray(mid * X.cols, X.rows * X.cols));
  const output = new Float64Array(new SharedArrayBuffer(rest * K * 8));
  const job: SvmPredictJob = { kind: 'svm-predict', control: h.control, modelId: -1, state, input, rows: rest, output };
  post(h, job);
  const out = new Float64Array(X.rows * K);
  out.set(predictProbaState(state, { rows: mid, cols: X.cols, data: X.data.subarray(0, mid * X.cols) }));
  if (helperFinished(h)) {
    helperStats.svmBatches++;
    out.set(output, mid * K);
    Atomics.store(h.control, STATE, IDLE);
  } else {
    h.broken = true;
    out.set(predictProbaState(state, { rows: rest, cols: X.cols, data: input }), mid * K);
  }
  return out;
}

/**
 * An SVM permutation's shuffled copies (svmShuffledProba), the second half of each repeat's sample on the helper
 * thread when `threads` ≥ 2 and the helper is free: every copy is scored by the same code either way (same bits).
 * The model goes with the job (structured clone: its support vectors, a few MB at most). `onRepeat` counts this
 * thread's repeats.
 */
export function svmPermuteInTwoParts(
  work: SvmPermuteWork,
  out: Float64Array,
  threads: number,
  signal: AbortSignal | undefined,
  onRepeat: (r: number) => void,
): void {
  const S = work.samples[0].length;
  const h = threads >= 2 && S >= 2 ? freeHelper() : null;
  if (!h) {
    svmShuffledProba(work, 0, S, out, signal, onRepeat);
    return;
  }
  const half = S >>> 1;
  const helperOut = new Float64Array(new SharedArrayBuffer(out.byteLength));
  const job: SvmPermuteJob = {
    kind: 'svm-permute',
    control: h.control,
    modelId: -1,
    work,
    from: half,
    to: S,
    out: helperOut,
  };
  post(h, job);
  svmShuffledProba(work, 0, half, out, signal, onRepeat);
  if (helperFinished(h)) {
    helperStats.svmPermuteParts++;
    // The helper wrote places [half, S) of every (repeat, feature); this thread the others.
    const K = work.numClasses;
    for (let at = 0; at < out.length; at += S * K)
      out.set(helperOut.subarray(at + half * K, at + S * K), at + half * K);
    Atomics.store(h.control, STATE, IDLE);
  } else {
    h.broken = true;
    svmShuffledProba(work, half, S, out, signal);
  }
}

/** True once the helper thread has started (tests wait for it before checking the two-thread path). */
export function predictHelperReady(): boolean {
  if (!helper || helper.broken) return false;
  return Atomics.load(helper.control, READY) === 1;
}

/** True while a helper thread is running (tests: it ends after predictHelperIdle.ms unused). */
export function predictHelperAlive(): boolean {
  return helper !== null && !helper.broken;
}

/**
 * Ends the helper now (a training task is over). The models it holds are that task's, and so are the buffers of
 * its last job, reachable from garbage of a thread that, idle, never collects it: kept until the idle timeout, they
 * were in the next run's peak (a 100-tree forest at 200,000 rows: ~207 MB of nodes and prediction layout). The next run's
 * pipeline starts a new helper while it preprocesses.
 */
export function endPredictHelper(): void {
  if (!helper) return;
  if (helper.idleTimer) clearTimeout(helper.idleTimer);
  endHelper(helper);
}

/** Starts the helper thread if it is not running (the first large batch does this too). */
export function startPredictHelper(): void {
  theHelper();
}
