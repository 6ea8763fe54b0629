/**
 * Soft voting over models' class probabilities, with what can be tuned on out-of-fold (OOF) predictions without
 * touching a test split: the members' weights (a grid over the simplex) and per-class probability scales (a prior
 * shift: the predicted class is argmax of scale_c · p_c, which for two classes is a decision threshold). Both are
 * chosen for macro-F1 on the OOF rows, then applied unchanged to held-out predictions.
 */
import { argmaxRows, macroF1 } from '../evaluate.js';

/** Σ_m w_m · P_m / Σ w (rows × classes, row-major); equal weights by default. */
export function softVote(probabilities: readonly Float64Array[], weights?: readonly number[]): Float64Array {
  if (probabilities.length === 0) throw new RangeError('soft voting needs at least one member');
  const w = weights ?? probabilities.map(() => 1);
  if (w.length !== probabilities.length) throw new RangeError('one weight per member');
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('the weights must add up to more than 0');
  const out = new Float64Array(probabilities[0].length);
  probabilities.forEach((p, m) => {
    if (p.length !== out.length) throw new RangeError('members predict different shapes');
    const share = w[m] / total;
    for (let i = 0; i < out.length; i++) out[i] += share * p[i];
  });
  return out;
}

/** Probabilities with each class scaled by `scales[c]` and each row renormalised (argmax is what changes). */
export function scaleClasses(probabilities: Float64Array, scales: readonly number[]): Float64Array {
  const k = scales.length;
  const out = new Float64Array(probabilities.length);
  for (let r = 0; r < probabilities.length / k; r++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[r * k + c] = probabilities[r * k + c] * scales[c];
    if (sum > 0) for (let c = 0; c < k; c++) out[r * k + c] /= sum;
  }
  return out;
}

const scoreOf = (labels: Int32Array, probabilities: Float64Array, k: number) =>
  macroF1(labels, argmaxRows(probabilities, k), k);

/** Every weight vector on the simplex with steps of 1/`steps` (members ≤ 4 keeps this small). */
function simplex(members: number, steps: number): number[][] {
  if (members === 1) return [[1]];
  const out: number[][] = [];
  for (let i = 0; i <= steps; i++) {
    for (const rest of simplex(members - 1, steps - i))
      out.push([i / steps, ...rest.map((v) => (v * (steps - i)) / steps)]);
  }
  return out.filter((w) => w.some((v) => v > 0));
}

/** The members' weights (steps of 0.1) with the best OOF macro-F1; ties keep the most even weights. */
export function fitVotingWeights(
  oof: readonly Float64Array[],
  labels: Int32Array,
  numClasses: number,
): { weights: number[]; score: number } {
  let best = { weights: oof.map(() => 1 / oof.length), score: scoreOf(labels, softVote(oof), numClasses) };
  for (const weights of simplex(oof.length, 10)) {
    const score = scoreOf(labels, softVote(oof, weights), numClasses);
    if (score > best.score + 1e-12) best = { weights, score };
  }
  return best;
}

/**
 * Per-class scales (class 0 fixed at 1; the others on a log grid from 1/4 to 4, coordinate ascent, 3 sweeps) with
 * the best OOF macro-F1.
 */
export function fitClassScales(
  oof: Float64Array,
  labels: Int32Array,
  numClasses: number,
): { scales: number[]; score: number } {
  const scales = new Array<number>(numClasses).fill(1);
  let score = scoreOf(labels, oof, numClasses);
  const grid = Array.from({ length: 25 }, (_, i) => Math.pow(4, (i - 12) / 12));
  for (let sweep = 0; sweep < 3; sweep++) {
    let moved = false;
    for (let c = 1; c < numClasses; c++) {
      const current = scales[c];
      let bestValue = current;
      for (const value of grid) {
        scales[c] = value;
        const s = scoreOf(labels, scaleClasses(oof, scales), numClasses);
        // Strictly better only: a tie keeps the current scale (no drift on flat stretches).
        if (s > score + 1e-12) {
          score = s;
          bestValue = value;
        }
      }
      scales[c] = bestValue;
      if (bestValue !== current) moved = true;
    }
    if (!moved) break;
  }
  return { scales, score };
}
