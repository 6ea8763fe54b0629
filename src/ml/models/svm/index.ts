/**
 * C-support vector classification with probability outputs, written after libsvm (what scikit-learn's `SVC` runs):
 * - one-vs-one: one binary SVM per pair of classes;
 * - SMO solver with libsvm's second-order working-set selection (WSS2, Fan, Chen & Lin 2005), stopping tolerance
 *   1e-3 as libsvm, and a float32 kernel-column cache (LRU within a byte budget) shared by the 5 cross-validation
 *   fits and the final fit of a pair;
 * - probabilities as libsvm's `-b 1`: Platt sigmoids fitted (Lin, Lin & Weng's Newton method) on 5-fold
 *   cross-validated decision values of each pair, then pairwise coupling (Wu, Lin & Weng 2004, method 2).
 * No npm package fits: `ml-svm` is binary-only without probabilities; `libsvm-js` (an unmaintained Emscripten
 * build) saves models in libsvm's text format, which prints support vectors with 8 significant digits, so a
 * reloaded model would not give bit-identical probabilities, and it cannot take our seeded RNG.
 * Large training sets are subsampled (stratified, seeded) to `max_train_rows` rows: the kernel solver is
 * roughly quadratic in the rows of a pair.
 */
import { SVM_KERNELS } from '../../catalog.js';
import { Random } from '../../random.js';
import type { HistoryPoint } from '../../types.js';
import { throwIfAborted } from '../../types.js';
import { defineTrainer } from '../define.js';
import { lossAndAccuracy } from '../step-metrics.js';
import { StoredFields } from '../stored.js';
import { KernelColumns, gatherRows, resolveGamma, squaredNorms, type KernelSpec } from './kernels.js';
import {
  FORMAT_VERSION,
  SvmClassifier,
  predictProbaState,
  computeImportance,
  type PairModel,
  type SvmState,
} from './model.js';
import { sigmoidPredict, sigmoidTrain } from './probability.js';
import { Yielder, solveBinary } from './smo.js';

export { resolveGamma } from './kernels.js';
export { coupleProbabilities, sigmoidPredict, sigmoidTrain } from './probability.js';
export type { SvmClassifier } from './model.js';

/** Float32 kernel cache per pair of classes (libsvm/scikit-learn default: 200 MB). */
const CACHE_BYTES = 256 * 1024 * 1024;
const PROBABILITY_FOLDS = 5;

/** Stratified seeded subsample of at most `maxRows` row indices (sorted), keeping every class present. */
function stratifiedSubsample(y: Int32Array, numClasses: number, maxRows: number, rng: Random): Int32Array {
  if (y.length <= maxRows) return Int32Array.from({ length: y.length }, (_, i) => i);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < y.length; i++) byClass[y[i]].push(i);
  const chosen: number[] = [];
  for (const members of byClass) {
    if (members.length === 0) continue;
    const take = Math.max(1, Math.round((members.length * maxRows) / y.length));
    const shuffled = rng.shuffle(members.slice());
    chosen.push(...shuffled.slice(0, take));
  }
  return Int32Array.from(chosen.sort((a, b) => a - b));
}

export const svmTrainer = defineTrainer('svm', {
  async fit(X, y, numClasses, params, options) {
    throwIfAborted(options.signal);
    const yielder = new Yielder(options.signal);
    const rng = new Random(options.seed);
    const d = X.cols;
    const { C, kernel: kernelName, degree, coef0, max_train_rows: maxRows } = params;
    const spec: KernelSpec = { kernel: kernelName, gamma: 1, degree, coef0 };

    const rows = stratifiedSubsample(y, numClasses, maxRows, rng.fork(1));
    const trainX = rows.length === X.rows ? X : { rows: rows.length, cols: d, data: gatherRows(X.data, rows, d) };
    const trainY = rows.length === X.rows ? y : Int32Array.from(rows, (r) => y[r]);
    // Gamma 'scale' uses the variance of the rows the solver sees, as scikit-learn would on the same input.
    spec.gamma = resolveGamma(params.gamma, trainX);

    const presentClasses: number[] = [];
    const byClass: number[][] = Array.from({ length: numClasses }, () => []);
    for (let i = 0; i < trainY.length; i++) byClass[trainY[i]].push(i);
    byClass.forEach((members, c) => members.length > 0 && presentClasses.push(c));

    const pairCount = (presentClasses.length * (presentClasses.length - 1)) / 2;
    const totalSteps = pairCount * (PROBABILITY_FOLDS + 1);
    let step = 0;
    const history: HistoryPoint[] = [];
    const pairs: PairModel[] = [];
    const svSlot = new Map<number, number>(); // training row → support-vector slot
    const svRows: number[] = [];

    for (let a = 0; a < presentClasses.length; a++) {
      for (let b = a + 1; b < presentClasses.length; b++) {
        const positiveClass = presentClasses[a];
        const negativeClass = presentClasses[b];
        const members = [...byClass[positiveClass], ...byClass[negativeClass]];
        const l = members.length;
        const pairData = gatherRows(trainX.data, members, d);
        const labels = new Int8Array(l);
        for (let i = 0; i < l; i++) labels[i] = i < byClass[positiveClass].length ? 1 : -1;
        const kernel = new KernelColumns(pairData, l, d, spec, squaredNorms(pairData, l, d), CACHE_BYTES);
        const maxIter = Math.max(10_000_000, 100 * l);
        const pairName = `${positiveClass}/${negativeClass}`;

        // 1. Cross-validated decision values for Platt scaling.
        const permutation = rng.shuffle(Int32Array.from({ length: l }, (_, i) => i));
        const cvDecision = new Float64Array(l);
        for (let fold = 0; fold < PROBABILITY_FOLDS; fold++) {
          const begin = Math.floor((fold * l) / PROBABILITY_FOLDS);
          const end = Math.floor(((fold + 1) * l) / PROBABILITY_FOLDS);
          const trainIndex = Int32Array.from([...permutation.subarray(0, begin), ...permutation.subarray(end)]);
          const subLabels = Int8Array.from(trainIndex, (p) => labels[p]);
          let positives = 0;
          for (const label of subLabels) if (label === 1) positives++;
          if (positives === 0 || positives === subLabels.length) {
            const constant = positives === 0 ? (subLabels.length === 0 ? 0 : -1) : 1;
            for (let t = begin; t < end; t++) cvDecision[permutation[t]] = constant;
          } else {
            const solution = await solveBinary(kernel, trainIndex, subLabels, C, maxIter, yielder);
            const supports: number[] = [];
            const weights: number[] = [];
            for (let s = 0; s < trainIndex.length; s++) {
              if (solution.alpha[s] > 0) {
                supports.push(trainIndex[s]);
                weights.push(solution.alpha[s] * subLabels[s]);
              }
            }
            for (let t = begin; t < end; t++) {
              const p = permutation[t];
              const column = kernel.get(p);
              let sum = 0;
              for (let s = 0; s < supports.length; s++) sum += weights[s] * column[supports[s]];
              cvDecision[p] = sum - solution.rho;
            }
          }
          step++;
          options.onStep?.({
            step,
            totalSteps,
            message: `pair ${pairName}: probability fold ${fold + 1}/${PROBABILITY_FOLDS}`,
          });
        }
        const positive = Uint8Array.from(labels, (label) => (label === 1 ? 1 : 0));
        const [probA, probB] = sigmoidTrain(cvDecision, positive);

        // 2. The pair's final model on all its rows.
        const solution = await solveBinary(
          kernel,
          Int32Array.from({ length: l }, (_, i) => i),
          labels,
          C,
          maxIter,
          yielder,
        );
        const supportIndices: number[] = [];
        const coefficients: number[] = [];
        for (let i = 0; i < l; i++) {
          if (solution.alpha[i] <= 0) continue;
          const row = members[i];
          let slot = svSlot.get(row);
          if (slot === undefined) {
            slot = svRows.length;
            svSlot.set(row, slot);
            svRows.push(row);
          }
          supportIndices.push(slot);
          coefficients.push(solution.alpha[i] * labels[i]);
        }
        pairs.push({
          positiveClass,
          negativeClass,
          supportIndices: Int32Array.from(supportIndices),
          coefficients: Float64Array.from(coefficients),
          rho: solution.rho,
          probA,
          probB,
        });
        // Platt log loss on the held-out decision values: the calibrated loss of this pair.
        let plattLoss = 0;
        for (let i = 0; i < l; i++) {
          const p = Math.min(Math.max(sigmoidPredict(cvDecision[i], probA, probB), 1e-15), 1 - 1e-15);
          plattLoss -= positive[i] ? Math.log(p) : Math.log(1 - p);
        }
        step++;
        const point: HistoryPoint = { step: pairs.length, loss: plattLoss / Math.max(1, l) };
        history.push(point);
        options.onStep?.({
          step,
          totalSteps,
          loss: point.loss,
          message: `pair ${pairName}: ${supportIndices.length} support vectors, ${solution.iterations} SMO iterations`,
        });
      }
    }

    const state: SvmState = {
      numClasses,
      numFeatures: d,
      spec,
      C,
      supportVectors: gatherRows(trainX.data, svRows, d),
      numSupportVectors: svRows.length,
      pairs,
      presentClasses,
      importance: new Float64Array(d),
      trainRows: trainY.length,
    };
    state.importance = computeImportance(state, trainX, rng.fork(2));
    if (history.length === 0) history.push({ step: 0 });
    if (options.validation) {
      const metrics = lossAndAccuracy(predictProbaState(state, options.validation.X), options.validation.y, numClasses);
      const last = history[history.length - 1];
      last.valLoss = metrics.loss;
      last.valAccuracy = metrics.accuracy;
    }
    return new SvmClassifier(params, state, history);
  },

  load(json, params) {
    const stored = StoredFields.of(json, FORMAT_VERSION);
    const numClasses = stored.integer('numClasses', 1);
    const numFeatures = stored.integer('numFeatures');
    const numSupportVectors = stored.integer('numSupportVectors');
    const supportVectors = new Float64Array(stored.bytes('supportVectors', 8, numSupportVectors * numFeatures));
    const state: SvmState = {
      numClasses,
      numFeatures,
      spec: {
        kernel: stored.oneOf('kernel', SVM_KERNELS),
        gamma: stored.number('gamma'),
        degree: stored.number('degree'),
        coef0: stored.number('coef0'),
      },
      C: stored.number('C'),
      supportVectors,
      numSupportVectors,
      pairs: stored.records('pairs').map((pair) => {
        const supportIndices = pair.integers('supportIndices', 0, numSupportVectors - 1);
        return {
          positiveClass: pair.integer('positiveClass', 0, numClasses - 1),
          negativeClass: pair.integer('negativeClass', 0, numClasses - 1),
          supportIndices,
          coefficients: pair.numbers('coefficients', supportIndices.length),
          rho: pair.number('rho'),
          probA: pair.number('probA'),
          probB: pair.number('probB'),
        };
      }),
      presentClasses: Array.from(stored.integers('presentClasses', 0, numClasses - 1)),
      importance: stored.numbers('importance', numFeatures),
      trainRows: stored.integer('trainRows'),
    };
    return new SvmClassifier(params, state, stored.history());
  },
});
