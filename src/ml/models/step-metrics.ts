/** The models' loss curves: per-step validation figures, and a saved curve read back. */
import type { HistoryPoint } from '../types.js';

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

/** A saved loss curve read back as plain JSON points (no NaN/Infinity; anything else is dropped). */
export function historyOf(value: unknown): HistoryPoint[] {
  if (!Array.isArray(value)) return [];
  const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return value.map((p: Record<string, unknown>) => {
    const point: HistoryPoint = { step: Number(p.step) };
    const loss = finite(p.loss);
    const valLoss = finite(p.valLoss);
    const valAccuracy = finite(p.valAccuracy);
    if (loss !== undefined) point.loss = loss;
    if (valLoss !== undefined) point.valLoss = valLoss;
    if (valAccuracy !== undefined) point.valAccuracy = valAccuracy;
    return point;
  });
}
