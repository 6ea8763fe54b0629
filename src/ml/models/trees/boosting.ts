/**
 * `xgboost`: multiclass softmax gradient boosting with XGBoost's second-order objective (multi:softprob).
 * Each round grows one tree per class on that class's (gradient, hessian); margins start at 0 for every class
 * (XGBoost's constant base_score cancels in the softmax). Binary problems use the same softmax with 2 classes.
 */
import type { FitOptions, HistoryPoint, Matrix, SerializedModel, TrainedClassifier } from '../../types.js';
import { throwIfAborted } from '../../types.js';
import { Random } from '../../random.js';
import { GradientTreeGrower } from './grow-gradient.js';
import { endRoundRows, meanLogLoss, type RoundState } from './grow-jobs.js';
import { PackedTrees, leafOf, type TreeArrays } from './structure.js';
import { StoredFields } from '../stored.js';
import { accumulateRows, predictThreads } from './predict-parallel.js';
import { sharesOfMagnitude } from '../../importance.js';
import { checkMatrix, checkTrainingData, makeYielder } from './common.js';
import type { XgboostParams } from '../../catalog.js';
import { defineTrainer } from '../define.js';

const FORMAT_VERSION = 1;

/** Softmax of margins (rows × K) in place. */
function softmaxRows(m: Float64Array, rows: number, K: number): void {
  for (let r = 0; r < rows; r++) {
    const b = r * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (m[b + k] > max) max = m[b + k];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(m[b + k] - max);
      m[b + k] = e;
      sum += e;
    }
    for (let k = 0; k < K; k++) m[b + k] /= sum;
  }
}

export class BoostedTreesModel implements TrainedClassifier {
  readonly modelType = 'xgboost' as const;

  constructor(
    readonly numClasses: number,
    readonly numFeatures: number,
    readonly trees: PackedTrees,
    readonly baseScore: Float64Array,
    private readonly importance: Float64Array,
    private readonly historyPoints: HistoryPoint[],
    readonly params: XgboostParams,
    /** Rounds kept (best iteration + 1 with early stopping). */
    readonly rounds: number,
  ) {}

  /** Class 0's trees when the model is a mirrored pair per round (mirroredClassZero), else null; built once. */
  private classZero: PackedTrees | null | undefined;

  /**
   * Class 0's trees alone when the model is two classes of mirrored pairs (class 1's margin is then exactly class
   * 0's negated), else null. Predict and the exact permutation importance walk these instead of every tree.
   */
  mirroredTrees(): PackedTrees | null {
    if (this.classZero === undefined) this.classZero = mirroredClassZero(this.trees, this.baseScore);
    return this.classZero;
  }

  /**
   * Raw softmax margins, rows × numClasses. `threads`: 1 keeps a large batch on this thread (the training pipeline's
   * small evaluations, where the helper thread's cold start costs more than it saves); each row's sum is the same.
   */
  predictMargins(X: Matrix, threads = predictThreads.count): Float64Array {
    checkMatrix(X, this.numFeatures);
    const K = this.numClasses;
    const out = new Float64Array(X.rows * K);
    const classZero = this.mirroredTrees();
    if (classZero) {
      // Half the trees walked, as XGBoost's binary model walks one tree per round. Class 1's margin, the same sums
      // with every sign flipped, is exactly class 0's negated (0 − m: a zero margin stays +0, as its sum gives).
      accumulateRows(classZero, X.data, X.rows, X.cols, out, K, threads);
      for (let r = 0; r < X.rows; r++) out[2 * r + 1] = 0 - out[2 * r];
      return out;
    }
    for (let r = 0; r < X.rows; r++) out.set(this.baseScore, r * K);
    accumulateRows(this.trees, X.data, X.rows, X.cols, out, K, threads);
    return out;
  }

  predictProba(X: Matrix, threads = predictThreads.count): Float64Array {
    const out = this.predictMargins(X, threads);
    softmaxRows(out, X.rows, this.numClasses);
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
      modelType: 'xgboost',
      formatVersion: FORMAT_VERSION,
      numClasses: this.numClasses,
      numFeatures: this.numFeatures,
      params: { ...this.params },
      rounds: this.rounds,
      baseScore: Array.from(this.baseScore),
      featureImportance: Array.from(this.importance),
      history: this.history(),
      trees: this.trees.toJSON(),
    };
  }

  static fromJSON(json: SerializedModel, params: XgboostParams): BoostedTreesModel {
    const stored = StoredFields.of(json, FORMAT_VERSION);
    const K = stored.integer('numClasses', 1);
    const F = stored.integer('numFeatures');
    return new BoostedTreesModel(
      K,
      F,
      PackedTrees.fromStored(stored.record('trees'), F, K),
      stored.numbers('baseScore', K),
      stored.numbers('featureImportance', F),
      stored.history(),
      params,
      stored.integer('rounds'),
    );
  }
}

/**
 * Two classes fitted with every feature per tree (fitBoosting) hold, per round, class 0's tree then its mirror:
 * the same nodes with leaf values negated. Then class 0's trees alone (packed apart) give both margins, from zero
 * base scores (stored models have them). Null for any other model, which predicts through all its trees.
 */
function mirroredClassZero(trees: PackedTrees, baseScore: Float64Array): PackedTrees | null {
  const { treeStart, treeOutput, feature, threshold, left, right, defaultLeft, values } = trees;
  const T = trees.treeCount;
  if (baseScore.length !== 2 || !Object.is(baseScore[0], 0) || !Object.is(baseScore[1], 0)) return null;
  if (!treeOutput || T % 2 !== 0 || trees.valueWidth !== 1) return null;
  const half: TreeArrays[] = [];
  for (let t = 0; t < T; t += 2) {
    const a = treeStart[t];
    const b = treeStart[t + 1];
    const n = b - a;
    if (treeOutput[t] !== 0 || treeOutput[t + 1] !== 1 || treeStart[t + 2] - b !== n) return null;
    for (let i = 0; i < n; i++) {
      if (
        feature[a + i] !== feature[b + i] ||
        !Object.is(threshold[a + i], threshold[b + i]) ||
        left[a + i] !== left[b + i] ||
        right[a + i] !== right[b + i] ||
        defaultLeft[a + i] !== defaultLeft[b + i] ||
        values[b + i] !== -values[a + i]
      )
        return null;
    }
    half.push({
      nodeCount: n,
      feature: feature.subarray(a, b),
      threshold: threshold.subarray(a, b),
      left: left.subarray(a, b),
      right: right.subarray(a, b),
      defaultLeft: defaultLeft.subarray(a, b),
      cover: trees.cover.subarray(a, b),
      values: values.subarray(a, b),
    });
  }
  return PackedTrees.pack(half, 1, new Int32Array(half.length));
}

async function fitBoosting(
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  p: XgboostParams,
  options: FitOptions,
): Promise<BoostedTreesModel> {
  checkTrainingData(X, y, numClasses);
  throwIfAborted(options.signal);
  const K = numClasses;
  const rng = new Random(options.seed);
  // Two classes, every feature per tree: class 1's gradients are class 0's negated (p1 − [y=1] = −(p0 − [y=0]))
  // with the same hessians, and split scores and missing-value directions depend on G only through G², so class
  // 1's tree is class 0's with its leaf values negated. It is mirrored instead of grown (half the work; XGBoost's
  // binary objective also grows one tree per round).
  const featuresPerTree = Math.max(1, Math.floor(p.colsample_bytree * X.cols + 1e-9));
  const mirror = K === 2 && featuresPerTree >= X.cols;
  // The grower learns the bin edges and bins X itself, on both threads when it has a helper; it holds the per-row
  // margins and gradients too, so a round's end runs on both threads.
  const grower = new GradientTreeGrower(
    { matrix: X, maxBins: p.max_bin, seed: options.seed },
    {
      maxDepth: p.max_depth,
      lambda: p.reg_lambda,
      alpha: p.reg_alpha,
      gamma: p.gamma,
      minChildWeight: p.min_child_weight,
      eta: p.learning_rate,
    },
    options.threads ?? 1,
    { labels: y, classes: K, gradientClasses: mirror ? 1 : K },
  );
  try {
    return await boost(X, K, p, options, grower, rng, mirror, featuresPerTree);
  } finally {
    grower.close();
  }
}

/** The boosting rounds of `fitBoosting` on its grower. */
async function boost(
  X: Matrix,
  K: number,
  p: XgboostParams,
  options: FitOptions,
  grower: GradientTreeGrower,
  rng: Random,
  mirror: boolean,
  featuresPerTree: number,
): Promise<BoostedTreesModel> {
  const n = X.rows;
  const cols = X.cols;

  const { margins, gh, rowValue } = grower.round;
  const gain = new Float64Array(cols);
  const trees: TreeArrays[] = [];
  const treeOutput: number[] = [];
  const gainPerRound: Float64Array[] = [];
  const history: HistoryPoint[] = [];

  const val = options.validation;
  if (val) checkMatrix(val.X, cols);
  const valRows = val?.X.rows ?? 0;
  const valState: RoundState | null = val
    ? {
        labels: val.y,
        classes: K,
        margins: new Float64Array(valRows * K),
        probs: new Float64Array(valRows * K),
        gh: [],
        rowValue: new Float64Array(0),
        likelihood: new Float64Array(valRows),
      }
    : null;
  const valMargins = valState?.margins;
  const patience = val && p.early_stopping_rounds !== null ? p.early_stopping_rounds : Infinity;
  let bestLoss = Infinity;
  let bestRound = -1;

  const allRows = new Uint32Array(n);
  for (let i = 0; i < n; i++) allRows[i] = i;
  const sampleBuffer = new Uint32Array(n);
  const allFeatures = new Int32Array(cols);
  for (let f = 0; f < cols; f++) allFeatures[f] = f;
  const featureBuffer = allFeatures.slice();
  const yieldNow = makeYielder();
  const treeGain = new Float64Array(cols);

  // Gradients of the softmax cross-entropy at margins 0; from round 1 on, the previous round's end writes them.
  grower.endRound(false);
  for (let round = 0; round < p.n_estimators; round++) {
    throwIfAborted(options.signal);
    let sample = allRows;
    if (p.subsample < 1) {
      let m = 0;
      for (let r = 0; r < n; r++) if (rng.next() < p.subsample) sampleBuffer[m++] = r;
      if (m === 0) sampleBuffer[m++] = rng.int(n);
      sample = sampleBuffer.subarray(0, m);
    }
    const roundGain = new Float64Array(cols);
    for (let k = 0; k < K; k++) {
      let features = allFeatures;
      if (featuresPerTree < cols) {
        // Partial Fisher–Yates, then sorted so histogram loops walk features in order.
        for (let j = 0; j < featuresPerTree; j++) {
          const s = j + rng.int(cols - j);
          const t = featureBuffer[s];
          featureBuffer[s] = featureBuffer[j];
          featureBuffer[j] = t;
        }
        features = featureBuffer.slice(0, featuresPerTree).sort();
      }
      let tree: TreeArrays;
      if (mirror && k === 1) {
        const grown = trees[trees.length - 1];
        tree = { ...grown, values: grown.values.map((v) => -v) };
      } else {
        treeGain.fill(0);
        tree = grower.grow(gh[k], sample, features, treeGain, rowValue);
      }
      for (let f = 0; f < cols; f++) roundGain[f] += treeGain[f];
      trees.push(tree);
      treeOutput.push(k);
      // The mirrored pair's margins are updated by the round's end, in its pass over the rows.
      if (sample.length === n) {
        if (!mirror) for (let r = 0; r < n; r++) margins[r * K + k] += rowValue[r];
      } else for (let r = 0; r < n; r++) margins[r * K + k] += tree.values[leafOf(tree, X.data, r * cols)];
      // A mirrored pair's validation margins are updated with the grown tree's walk (the other's leaves are its negation).
      if (val && valMargins && !(mirror && k === 1))
        for (let r = 0; r < val.X.rows; r++) {
          const v = tree.values[leafOf(tree, val.X.data, r * cols)];
          valMargins[r * K + k] += v;
          if (mirror) valMargins[r * K + 1] += -v;
        }
    }
    gainPerRound.push(roundGain);

    const train = grower.endRound(mirror && sample.length === n);
    const point: HistoryPoint = { step: round + 1, loss: train.loss };
    if (valState) {
      const correct = endRoundRows(valState, 0, valRows, false);
      const v = { loss: meanLogLoss(valState.likelihood, valRows), accuracy: correct / valRows };
      point.valLoss = v.loss;
      point.valAccuracy = v.accuracy;
      if (v.loss < bestLoss) {
        bestLoss = v.loss;
        bestRound = round;
      }
    }
    history.push(point);
    options.onStep?.({ ...point, totalSteps: p.n_estimators });
    if (round - bestRound >= patience) break;
    await yieldNow();
  }

  // Early stopping keeps the best iteration's trees (XGBoost's best_iteration).
  const rounds = Number.isFinite(patience) && bestRound >= 0 ? bestRound + 1 : history.length;
  for (let r = 0; r < rounds; r++) for (let f = 0; f < cols; f++) gain[f] += gainPerRound[r][f];
  const packed = PackedTrees.pack(trees.slice(0, rounds * K), 1, Int32Array.from(treeOutput.slice(0, rounds * K)));
  return new BoostedTreesModel(K, cols, packed, new Float64Array(K), sharesOfMagnitude(gain), history, p, rounds);
}

export const xgboostTrainer = defineTrainer('xgboost', {
  fit: fitBoosting,
  load: (json, params) => BoostedTreesModel.fromJSON(json, params),
});
