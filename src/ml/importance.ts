/**
 * Importance scaled to shares, one function per meaning:
 * - `sharesOfMagnitude`: a model's own importance (impurity decrease, gain, |weights|). The TrainedClassifier
 *   contract needs shares that sum to 1, so a model that tells no feature apart (all zero) gives equal shares.
 * - `sharesOfPositiveDrops`: permutation importance (score drops). A negative drop (shuffling helped, noise) counts as
 *   no importance, and if nothing dropped every share stays 0: no feature matters, none is made to.
 */

function magnitude(value: number): number {
  return Number.isFinite(value) ? Math.abs(value) : 0;
}

/** |value| as a share of the total |values| (non-finite values count 0); all zero → equal shares 1/d. */
export function sharesOfMagnitude(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let j = 0; j < values.length; j++) out[j] = magnitude(values[j]);
  let total = 0;
  for (const v of out) total += v;
  for (let j = 0; j < out.length; j++) out[j] = total > 0 ? out[j] / total : 1 / out.length;
  return out;
}

/** Positive drops as shares of their total (negative or non-finite drops count 0); no positive drop → all 0. */
export function sharesOfPositiveDrops(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Number.isFinite(v) && v > 0 ? v : 0;
    total += out[i];
  }
  if (total > 0) for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}
