/**
 * Decision tuning of a run (the `decisionTuning` run option, issue 14): per-class probability scales chosen for
 * macro-F1 on rows the evaluated model did not learn from — cross-validation's out-of-fold predictions, else the
 * validation split — never on the test split (like scikit-learn's TunedThresholdClassifierCV; for two classes a
 * scale is a decision threshold). The scales are then applied unchanged to the test split, predictions and
 * explanations. The fitting is ensemble.ts's fitClassScales (the same one soft voting uses).
 *
 * Probabilities: what the run reports (metrics, held-out rows, predictions) are the model's (calibrated, if the run
 * calibrates) probabilities scaled per class and renormalised per row, so the predicted class is always the
 * argmax of the probabilities shown. The stored held-out rows keep the untuned probabilities with the scales beside
 * them, so anyone can recompute the tuned decision.
 */
import { argmaxRows, macroF1 } from '../evaluate.js';
import { fitClassScales, scaleClasses } from './ensemble.js';

export const DECISION_TUNINGS = ['NONE', 'MACRO_F1'] as const;
/** NONE: argmax of the probabilities; MACRO_F1: per-class scales fitted for macro-F1 on held-out rows. */
export type DecisionTuning = (typeof DECISION_TUNINGS)[number];
/** Where the scales were fitted. */
export type DecisionTunedOn = 'OUT_OF_FOLD' | 'VALIDATION';

/** What a run stores about its tuned decision. */
export interface DecisionTuningInfo {
  objective: 'MACRO_F1';
  fittedOn: DecisionTunedOn;
  fittedRows: number;
  /** One per class, in the run's class order (the first class is fixed at 1). */
  classScales: number[];
  /** Macro-F1 of the rows the scales were fitted on, argmax before and tuned after (after is in-sample). */
  fitted: { before: number; after: number };
  /** Macro-F1 of the held-out test split before and after (the run's metrics are the after; not used to fit). */
  test: { before: number; after: number };
  description: string;
}

export function macroF1Of(labels: Int32Array, proba: Float64Array, numClasses: number): number {
  return macroF1(labels, argmaxRows(proba, numClasses), numClasses);
}

/**
 * Fits the scales on `fit` (labels and probabilities of held-out rows) and applies them to the test split's
 * probabilities. `fit` is null when the run has neither cross-validation nor a validation split: refused upstream
 * (selectionProblem), so reaching it here is a fault.
 */
export function tuneDecision(
  fit: { on: DecisionTunedOn; labels: Int32Array; proba: Float64Array },
  test: { labels: Int32Array; proba: Float64Array },
  classes: readonly string[],
): { classScales: number[]; testProba: Float64Array; info: DecisionTuningInfo } {
  const k = classes.length;
  const before = macroF1Of(fit.labels, fit.proba, k);
  const { scales, score } = fitClassScales(fit.proba, fit.labels, k);
  const testProba = scaleClasses(test.proba, scales);
  const where = fit.on === 'OUT_OF_FOLD' ? 'the out-of-fold predictions' : 'the validation split';
  const shown = scales.map((s, c) => `${classes[c]} × ${s.toFixed(3)}`).join(', ');
  return {
    classScales: scales,
    testProba,
    info: {
      objective: 'MACRO_F1',
      fittedOn: fit.on,
      fittedRows: fit.labels.length,
      classScales: scales,
      fitted: { before, after: score },
      test: { before: macroF1Of(test.labels, test.proba, k), after: macroF1Of(test.labels, testProba, k) },
      description:
        `Per-class probability scales (${shown}) chosen for macro-F1 on ${where} (${fit.labels.length} rows; ` +
        'the test split was not used). The predicted class is the argmax of the scaled probabilities; the ' +
        "run's metrics, predictions and probabilities are the scaled probabilities renormalised per row. The " +
        'fitted-row score after tuning is in-sample for the scales.',
    },
  };
}

/** The decision probabilities of a model's probabilities under stored scales (none: unchanged). */
export function applyClassScales(proba: Float64Array, scales: readonly number[] | undefined): Float64Array {
  return scales ? scaleClasses(proba, scales) : proba;
}
