/** The models' loss curves: per-step validation figures (a saved curve is read back by stored.ts). */
/** Mean log loss (probabilities clipped at 1e-15, as scikit-learn) and accuracy of `proba` against `y`. */
export function lossAndAccuracy(
  proba: Float64Array,
  y: Int32Array,
  numClasses: number,
): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    const row = i * numClasses;
    loss -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, proba[row + y[i]])));
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (proba[row + k] > proba[row + best]) best = k;
    if (best === y[i]) correct++;
  }
  return y.length > 0 ? { loss: loss / y.length, accuracy: correct / y.length } : { loss: 0, accuracy: 0 };
}
