/**
 * `random_forest` (bootstrap + per-split feature sampling, trees in worker threads) and `decision_tree`
 * (one CART tree on all rows and features). Class probabilities are the mean of the trees' leaf class
 * distributions, as scikit-learn; importance is the mean of each tree's normalised impurity decrease.
 */
import { Worker } from 'node:worker_threads';
import type { FitOptions, HistoryPoint, Matrix, ModelTypeId, SerializedModel, TrainedClassifier } from '../../types.js';
import { AbortError, throwIfAborted } from '../../types.js';
import { Random } from '../../random.js';
import { binColumns, fitBinMapper } from './binning.js';
import { growClassTree, type BinnedData, type ClassTreeParams, type GrownClassTree } from './grow.js';
import { PackedTrees, copyTreeInto, type TreeArrays } from './structure.js';
import { StoredFields } from '../stored.js';
import { accumulateRows, predictThreads } from './predict-parallel.js';
import { sharesOfMagnitude } from '../../importance.js';
import { checkMatrix, checkTrainingData, makeYielder, spawnTreeWorker } from './common.js';
import type { DecisionTreeParams, MaxFeatures, RandomForestParams } from '../../catalog.js';
import { defineTrainer } from '../define.js';
import type { ForestWorkerData, TreeResult, WorkerMessage } from './forest-protocol.js';

/** 2: trees in PackedTrees.toCompactJSON's form; 1 (toJSON's) still loads. */
const FORMAT_VERSION = 2;
type ForestModelType = Extract<ModelTypeId, 'random_forest' | 'decision_tree'>;
type ForestParams = RandomForestParams | DecisionTreeParams;

/** Features examined per split: √d, log₂d or all d (at least 1). */
function featuresPerSplit(maxFeatures: MaxFeatures, cols: number): number {
  const count = maxFeatures === 'sqrt' ? Math.sqrt(cols) : maxFeatures === 'log2' ? Math.log2(cols) : cols;
  return Math.max(1, Math.min(cols, Math.floor(count)));
}

export class ForestModel implements TrainedClassifier {
  constructor(
    readonly modelType: ForestModelType,
    readonly numClasses: number,
    readonly numFeatures: number,
    readonly trees: PackedTrees,
    private readonly importance: Float64Array,
    private readonly historyPoints: HistoryPoint[],
    readonly params: ForestParams,
  ) {}

  predictProba(X: Matrix): Float64Array {
    checkMatrix(X, this.numFeatures);
    const K = this.numClasses;
    const out = new Float64Array(X.rows * K);
    accumulateRows(this.trees, X.data, X.rows, X.cols, out, K, predictThreads.count);
    const scale = 1 / this.trees.treeCount;
    for (let i = 0; i < out.length; i++) out[i] *= scale;
    return out;
  }

  featureImportance(): Float64Array {
    return this.importance.slice();
  }

  history(): HistoryPoint[] {
    return this.historyPoints.map((p) => ({ ...p }));
  }

  toJSON(): SerializedModel {
    return {
      modelType: this.modelType,
      formatVersion: FORMAT_VERSION,
      numClasses: this.numClasses,
      numFeatures: this.numFeatures,
      params: { ...this.params },
      featureImportance: Array.from(this.importance),
      history: this.history(),
      trees: this.trees.toCompactJSON(this.numFeatures),
    };
  }

  static fromJSON(json: SerializedModel, expected: ForestModelType, params: ForestParams): ForestModel {
    const stored = StoredFields.of(json, [1, FORMAT_VERSION]);
    const K = stored.integer('numClasses', 1);
    const F = stored.integer('numFeatures');
    return new ForestModel(
      expected,
      K,
      F,
      PackedTrees.fromStored(stored.record('trees'), F, K),
      stored.numbers('featureImportance', F),
      stored.history(),
      params,
    );
  }
}

/**
 * Idle tree workers kept between fits (unref'd, so they never keep the process alive): a worker costs ~0.1 s to
 * start, a Kepler forest about 1 s to grow.
 */
const idleWorkers: Worker[] = [];
const MAX_IDLE_WORKERS = 8;
let nextJob = 1;

function acquireWorker(): Worker {
  const worker = idleWorkers.pop() ?? spawnTreeWorker('forest-worker');
  worker.removeAllListeners();
  worker.ref();
  return worker;
}

function releaseWorker(worker: Worker): void {
  worker.removeAllListeners();
  const message: WorkerMessage = { kind: 'release' };
  worker.postMessage(message);
  if (idleWorkers.length >= MAX_IDLE_WORKERS) {
    void worker.terminate();
    return;
  }
  const drop = (): void => {
    const i = idleWorkers.indexOf(worker);
    if (i >= 0) idleWorkers.splice(i, 1);
  };
  worker.on('error', drop);
  worker.on('exit', drop);
  worker.unref();
  idleWorkers.push(worker);
}

/**
 * Grows trees [0, n) with per-tree seeds on the calling thread plus `extraThreads` workers, handing each to
 * `onGrown(index, tree)` and calling `onTree(doneCount)` as trees complete. Trees are identified by index, so the
 * forest is the same whatever the thread count.
 */
async function growTrees(
  n: number,
  seeds: Int32Array,
  workerData: ForestWorkerData,
  extraThreads: number,
  signal: AbortSignal | undefined,
  onGrown: (t: number, grown: GrownClassTree) => void,
  onTree: (done: number) => void,
): Promise<void> {
  const growHere = (t: number): GrownClassTree =>
    growClassTree(workerData.data, workerData.y, workerData.numClasses, workerData.params, new Random(seeds[t]));
  if (extraThreads <= 0) {
    const yieldNow = makeYielder();
    for (let t = 0; t < n; t++) {
      throwIfAborted(signal);
      onGrown(t, growHere(t));
      onTree(t + 1);
      await yieldNow();
    }
    return;
  }

  const workers: Worker[] = [];
  const job = nextJob++;
  let next = 0;
  let done = 0;
  let settled = false;
  // Set once the promise below exists; removed in `finally`.
  const abort: { listener?: () => void } = {};
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      const onAbort = () => {
        fail(new AbortError());
      };
      abort.listener = onAbort;
      const finishOne = (t: number, grown: GrownClassTree): void => {
        if (settled) return;
        done++;
        try {
          onGrown(t, grown);
          onTree(done);
        } catch (error) {
          fail(error);
          return;
        }
        if (done === n) {
          settled = true;
          resolve();
        }
      };
      const dispatch = (worker: Worker): void => {
        if (settled || next >= n) return;
        const t = next++;
        const request: WorkerMessage = { kind: 'tree', job, index: t, seed: seeds[t] };
        worker.postMessage(request);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) fail(new AbortError());
      for (let i = 0; i < extraThreads; i++) {
        const worker = acquireWorker();
        workers.push(worker);
        const start: WorkerMessage = { kind: 'job', job, data: workerData };
        worker.postMessage(start);
        worker.on('message', (m: TreeResult) => {
          if (m.job !== job) return;
          finishOne(m.index, { tree: m.tree, importance: m.importance });
          dispatch(worker);
        });
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (!settled && code !== 0) fail(new Error(`random forest worker exited with code ${code}`));
        });
        // Two requests in flight so a worker never waits for this thread to finish its own tree.
        dispatch(worker);
        dispatch(worker);
      }
      // This thread grows trees too, yielding between them so worker results and aborts are handled.
      void (async () => {
        while (!settled && next < n) {
          const t = next++;
          let grown: GrownClassTree;
          try {
            throwIfAborted(signal);
            grown = growHere(t);
          } catch (error) {
            fail(error);
            return;
          }
          finishOne(t, grown);
          await new Promise<void>((r) => setImmediate(r));
        }
      })();
    });
    // Every request was answered: the workers are idle and can serve the next fit.
    for (const w of workers) releaseWorker(w);
    workers.length = 0;
  } finally {
    if (abort.listener) signal?.removeEventListener('abort', abort.listener);
    // Failed or cancelled: workers may be mid-tree, stop them.
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function fitForest(
  modelType: ForestModelType,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  p: ForestParams,
  options: FitOptions,
): Promise<ForestModel> {
  checkTrainingData(X, y, numClasses);
  throwIfAborted(options.signal);
  // A decision tree is a forest of one tree on every row and feature.
  const forest = 'n_estimators' in p ? p : null;
  const cols = X.cols;
  const nTrees = forest ? forest.n_estimators : 1;
  const extraThreads = Math.max(0, Math.min(Math.floor(options.threads ?? 1), nTrees) - 1);
  const mapper = fitBinMapper(X, 255, options.seed);
  const data: BinnedData = {
    rows: X.rows,
    cols,
    bins: binColumns(X, mapper, extraThreads > 0),
    numBins: mapper.numBins,
    edges: mapper.edges,
  };
  let labels = y;
  if (extraThreads > 0) {
    labels = new Int32Array(new SharedArrayBuffer(y.length * 4));
    labels.set(y);
  }
  const treeParams: ClassTreeParams = {
    maxDepth: p.max_depth ?? Infinity,
    minSamplesSplit: p.min_samples_split,
    minSamplesLeaf: p.min_samples_leaf,
    maxFeatures: forest ? featuresPerSplit(forest.max_features, cols) : cols,
    criterion: p.criterion,
    bootstrap: forest ? forest.bootstrap : false,
  };
  const master = new Random(options.seed);
  const seeds = new Int32Array(nTrees);
  for (let t = 0; t < nTrees; t++) seeds[t] = master.int(0x7fffffff);

  const history: HistoryPoint[] = [];
  const packer = new ForestPacker(nTrees, numClasses, cols);
  await growTrees(
    nTrees,
    seeds,
    { data, y: labels, numClasses, params: treeParams },
    extraThreads,
    options.signal,
    (t, grown) => {
      packer.add(t, grown);
    },
    (done) => {
      history.push({ step: done });
      options.onStep?.({ step: done, totalSteps: nTrees });
    },
  );
  throwIfAborted(options.signal);
  const { trees, importance } = packer.finish();
  return new ForestModel(modelType, numClasses, cols, trees, sharesOfMagnitude(importance), history, p);
}

/** Node capacity reserved beyond the trees' mean size times their count (growing it costs a copy of the nodes). */
const CAPACITY_MARGIN = 1.1;

/**
 * The forest's trees copied into its shared node arrays as they complete, in index order (a tree done early waits
 * for those before it), so each grown tree is garbage from then on. Keeping them all to pack at the end put the
 * grown trees and their packed copy in memory together (a 100-tree forest at 200,000 rows: 2 × 151 MB). The arrays
 * are reserved for the trees' mean size so far × their count (+10 %; shared memory is zero pages until written, so
 * the unused end costs no RSS) and the model's arrays are views of their first nodes: the same values as
 * PackedTrees.pack's.
 */
class ForestPacker {
  private readonly pending = new Map<number, GrownClassTree>();
  private readonly treeStart: Int32Array;
  private readonly importance: Float64Array;
  private next = 0;
  private capacity = 0;
  private arrays: TreeArrays;

  constructor(
    private readonly trees: number,
    private readonly valueWidth: number,
    private readonly cols: number,
  ) {
    this.treeStart = new Int32Array(new SharedArrayBuffer((trees + 1) * 4));
    this.importance = new Float64Array(cols);
    this.arrays = sharedTreeArrays(0, valueWidth);
  }

  add(t: number, grown: GrownClassTree): void {
    this.pending.set(t, grown);
    for (let g = this.pending.get(this.next); g; g = this.pending.get(this.next)) {
      this.pending.delete(this.next);
      this.append(g);
      this.next++;
    }
  }

  private append({ tree, importance }: GrownClassTree): void {
    // Each tree's impurity decreases normalised, summed in tree order.
    let sum = 0;
    for (let f = 0; f < this.cols; f++) sum += importance[f];
    if (sum > 0) for (let f = 0; f < this.cols; f++) this.importance[f] += importance[f] / sum;
    const s = this.treeStart[this.next];
    const end = s + tree.nodeCount;
    if (end > this.capacity) {
      const estimate = Math.ceil((end / (this.next + 1)) * this.trees * CAPACITY_MARGIN);
      this.reserve(Math.max(end, estimate));
    }
    copyTreeInto(this.arrays, tree, s, this.valueWidth);
    this.treeStart[this.next + 1] = end;
  }

  /** Arrays of `capacity` nodes holding the nodes appended so far. */
  private reserve(capacity: number): void {
    const nodes = this.treeStart[this.next];
    const w = this.valueWidth;
    const old = this.arrays;
    const a = sharedTreeArrays(capacity, w);
    a.feature.set(old.feature.subarray(0, nodes));
    a.threshold.set(old.threshold.subarray(0, nodes));
    a.left.set(old.left.subarray(0, nodes));
    a.right.set(old.right.subarray(0, nodes));
    a.defaultLeft.set(old.defaultLeft.subarray(0, nodes));
    a.cover.set(old.cover.subarray(0, nodes));
    a.values.set(old.values.subarray(0, nodes * w));
    this.arrays = a;
    this.capacity = capacity;
  }

  /** The packed forest (every tree added) and the summed normalised importance. */
  finish(): { trees: PackedTrees; importance: Float64Array } {
    if (this.next !== this.trees) throw new Error(`random forest: ${this.trees - this.next} trees missing`);
    const n = this.treeStart[this.trees];
    const a = this.arrays;
    const w = this.valueWidth;
    return {
      trees: new PackedTrees(
        this.treeStart,
        a.feature.subarray(0, n),
        a.threshold.subarray(0, n),
        a.left.subarray(0, n),
        a.right.subarray(0, n),
        a.defaultLeft.subarray(0, n),
        a.cover.subarray(0, n),
        a.values.subarray(0, n * w),
        w,
        null,
      ),
      importance: this.importance,
    };
  }
}

/** TreeArrays of `nodes` nodes on SharedArrayBuffers (zeroed). */
function sharedTreeArrays(nodes: number, valueWidth: number): TreeArrays {
  const ints = () => new Int32Array(new SharedArrayBuffer(nodes * 4));
  const floats = (length: number) => new Float64Array(new SharedArrayBuffer(length * 8));
  return {
    nodeCount: nodes,
    feature: ints(),
    threshold: floats(nodes),
    left: ints(),
    right: ints(),
    defaultLeft: new Uint8Array(new SharedArrayBuffer(nodes)),
    cover: floats(nodes),
    values: floats(nodes * valueWidth),
  };
}

export const randomForestTrainer = defineTrainer('random_forest', {
  fit: (X, y, numClasses, params, options) => fitForest('random_forest', X, y, numClasses, params, options),
  load: (json, params) => ForestModel.fromJSON(json, 'random_forest', params),
});

export const decisionTreeTrainer = defineTrainer('decision_tree', {
  fit: (X, y, numClasses, params, options) => fitForest('decision_tree', X, y, numClasses, params, options),
  load: (json, params) => ForestModel.fromJSON(json, 'decision_tree', params),
});
