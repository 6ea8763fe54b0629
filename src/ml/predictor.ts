/**
 * The prediction path of a trained pipeline: raw rows keyed by column name → the saved preprocessing → the model.
 * Also explains single predictions (exact TreeSHAP for tree models, sampling Shapley for the others).
 */
import { getModelSpec } from './catalog.js';
import { badInput } from '../domain/errors.js';
import { parseNumber } from './data/csv.js';
import { MISSIONS, isMissionId } from './data/missions.js';
import { explanationReasons, samplingShapley } from './explain/shapley.js';
import { loadModel } from './models/registry.js';
import { treeEnsembleOf, treeShap } from './models/trees/index.js';
import type { PipelineArtifact } from './pipeline.js';
import { decodeArtifact, decodeArtifactBytes, decodeGzippedArtifact } from './artifact.js';
import { Preprocessor } from './preprocess.js';
import { applyCalibration } from './selection/calibration.js';
import { applyClassScales } from './selection/decision-tuning.js';
import type { Matrix, ModelTypeId, TrainedClassifier } from './types.js';

/**
 * A run's model probabilities as the run reports them: calibrated when it calibrated, then scaled per class and
 * renormalised when it tuned its decision (also how a soft_voting run reads a member's out-of-fold predictions).
 */
export function decisionProbabilities(
  artifact: Pick<PipelineArtifact, 'calibration' | 'classScales'>,
  proba: Float64Array,
): Float64Array {
  const calibrated = artifact.calibration ? applyCalibration(artifact.calibration, proba) : proba;
  return applyClassScales(calibrated, artifact.classScales);
}

export interface ClassProbability {
  label: string;
  probability: number;
}

export interface RowPrediction {
  label: string;
  confidence: number;
  probabilities: ClassProbability[];
  warnings: string[];
  /** The probabilities went through the run's calibration. */
  calibrated: boolean;
  /** The probabilities are scaled per class by the run's decision tuning and renormalised (label = their argmax). */
  decisionTuned: boolean;
}

export interface FeatureContribution {
  feature: string;
  /** The row's raw value (null = missing). */
  value: number | null;
  contribution: number;
}

export interface RowExplanation {
  label: string;
  /** 'probability' for forests, trees and model-agnostic estimates; 'margin' (softmax score) for boosting. */
  outputSpace: 'probability' | 'margin';
  method: 'tree_shap' | 'sampling_shapley';
  /** The expected model output over the background (tree cover for TreeSHAP). */
  baseValue: number;
  /** The model output explained: baseValue + Σ contributions. */
  output: number;
  contributions: FeatureContribution[];
  /** output − baseValue − Σ contributions (≈ 0). */
  residual: number;
  reasons: string[];
  warnings: string[];
  /** The model's probabilities are calibrated (TreeSHAP still explains its uncalibrated output). */
  calibrated: boolean;
  /** The run's decision is tuned: `label` defaults to the tuned prediction (TreeSHAP explains the untuned output). */
  decisionTuned: boolean;
}

export interface ParsedRows {
  X: Matrix;
  warnings: string[][];
}

/** Most rows one `predict` call takes (larger sets go through a batch prediction). */
export const MAX_PREDICT_ROWS = 1000;
const SHAPLEY_PERMUTATIONS = 32;
/** Spellings of "missing" that the CSV reader also reads as empty (csv.ts), so a row and a file agree. */
const MISSING_SPELLINGS = new Set(['NA', 'N/A', 'n/a', 'NaN', 'nan', 'null', 'NULL', 'None']);

interface Clip {
  feature: number;
  min: number;
  max: number;
}

function describeValue(value: unknown): string {
  // JSON.stringify answers undefined for undefined, functions and symbols.
  const text = typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) as string | undefined);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A loaded predictor with an estimate of the memory it keeps, for byte-bounded caches (src/ml/cache.ts). */
export interface SizedPredictor {
  predictor: Predictor;
  /**
   * The stored artefact's length (JSON characters, or bytes of a binary one): the predictor keeps the parsed
   * artefact (arrays of numbers, ~8–16 bytes per number against ~8–20 characters of JSON; tree arrays as their
   * bytes) and the model built from it (typed arrays, TensorFlow.js weights) of the same order.
   */
  bytes: number;
}

/**
 * Reads a stored artefact (decompressed: binary, or the JSON text of artefacts stored before) and loads its
 * predictor, sized for a cache.
 */
export async function loadSizedPredictor(stored: string | Uint8Array): Promise<SizedPredictor> {
  const artifact = typeof stored === 'string' ? decodeArtifact(stored) : decodeArtifactBytes(stored);
  const predictor = await Predictor.load(artifact);
  return { predictor, bytes: stored.length };
}

/** `loadSizedPredictor` of a stored (gzipped) artefact, decoded as it inflates (decodeGzippedArtifact). */
export async function loadGzippedPredictor(gzipped: Uint8Array): Promise<SizedPredictor> {
  const { artifact, bytes } = await decodeGzippedArtifact(gzipped);
  return { predictor: await Predictor.load(artifact), bytes };
}

export class Predictor {
  private readonly featureIndex: Map<string, number>;
  private readonly tableColumns: Set<string>;
  /** The mission's data fixes on features (e.g. Kepler flags clipped to 0/1), as the training table had them. */
  private readonly clips: Clip[];

  private constructor(
    readonly artifact: PipelineArtifact,
    readonly model: TrainedClassifier,
    readonly preprocessor: Preprocessor,
  ) {
    this.featureIndex = new Map(artifact.features.map((f, i) => [f, i]));
    this.tableColumns = new Set(artifact.tableColumns);
    const mission = artifact.mission;
    this.clips =
      mission !== null && isMissionId(mission)
        ? MISSIONS[mission].fixes.flatMap((fix) =>
            fix.columns
              .filter((c) => this.featureIndex.has(c))
              .flatMap((c) => {
                const feature = this.featureIndex.get(c);
                return feature === undefined ? [] : [{ feature, min: fix.min, max: fix.max }];
              }),
          )
        : [];
  }

  static async load(artifact: PipelineArtifact): Promise<Predictor> {
    const version: unknown = artifact.formatVersion; // stored JSON: checked, not trusted
    if (version !== 1) throw new Error(`unsupported pipeline format ${String(version)}`);
    const model = await loadModel(artifact.model);
    return new Predictor(artifact, model, Preprocessor.fromJSON(artifact.preprocessor));
  }

  /** Frees what the model holds outside the JS heap (TensorFlow.js weights); the predictor is unusable after. */
  dispose(): void {
    const disposable = this.model as TrainedClassifier & { dispose?: () => void };
    disposable.dispose?.();
  }

  get classes(): string[] {
    return this.artifact.classes;
  }

  get features(): string[] {
    return this.artifact.features;
  }

  get modelType(): ModelTypeId {
    return this.artifact.modelType;
  }

  /**
   * Rows keyed by column name → raw feature matrix. Missing features become NaN (imputed or routed by the model)
   * with a warning; a non-numeric value or a row with no usable feature is refused, naming the row and column.
   */
  parseRows(rows: readonly unknown[], field = 'rows'): ParsedRows {
    return this.parseRowsAt(rows, (r) => `${field}[${r}]`);
  }

  /** `where(r)` names row r in messages and `field` (e.g. `rows[3]`, or `row` for a single explained row). */
  private parseRowsAt(rows: readonly unknown[], where: (r: number) => string): ParsedRows {
    const { features } = this.artifact;
    const cols = features.length;
    const data = new Float64Array(rows.length * cols).fill(NaN);
    const warnings: string[][] = [];
    const ranges = this.preprocessor.ranges;
    rows.forEach((row, r) => {
      const at = where(r);
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        throw badInput(`${at} must be an object of column name → value.`, at);
      }
      const rowWarnings: string[] = [];
      const record = row as Record<string, unknown>;
      const unknown: string[] = [];
      for (const key of Object.keys(record)) {
        if (!this.featureIndex.has(key) && !this.tableColumns.has(key)) unknown.push(key);
      }
      let present = 0;
      const missing: string[] = [];
      features.forEach((feature, j) => {
        const raw = record[feature];
        let value: number;
        if (
          raw === undefined ||
          raw === null ||
          (typeof raw === 'string' && (raw.trim() === '' || MISSING_SPELLINGS.has(raw.trim())))
        ) {
          missing.push(feature);
          return;
        } else if (typeof raw === 'number') {
          value = raw;
        } else if (typeof raw === 'string') {
          value = parseNumber(raw.trim());
        } else {
          value = NaN;
        }
        if (!Number.isFinite(value)) {
          throw badInput(`${at}.${feature}: ${describeValue(raw)} is not a number.`, `${at}.${feature}`);
        }
        data[r * cols + j] = value;
        present++;
        const range = ranges[j];
        if (Number.isFinite(range.min) && Number.isFinite(range.max) && (value < range.min || value > range.max)) {
          rowWarnings.push(`${feature} = ${value} is outside the training range [${range.min}, ${range.max}].`);
        }
      });
      if (present === 0) {
        throw badInput(
          `${at} has no usable feature: give at least one of ${features.slice(0, 8).join(', ')}${features.length > 8 ? ', …' : ''}.`,
          at,
        );
      }
      if (missing.length > 0) {
        const spec = getModelSpec(this.artifact.modelType);
        const how =
          spec.family === 'ensemble'
            ? 'left to each member as in its training (imputed, or sent down default branches)'
            : spec.preprocessing.impute
              ? 'imputed with the training median'
              : "sent down each tree's learned default branch";
        rowWarnings.unshift(`Missing feature${missing.length > 1 ? 's' : ''} ${how}: ${missing.join(', ')}.`);
      }
      if (unknown.length > 0)
        rowWarnings.push(`Unknown column${unknown.length > 1 ? 's' : ''} ignored: ${unknown.join(', ')}.`);
      warnings.push(rowWarnings);
    });
    return { X: { rows: rows.length, cols, data }, warnings };
  }

  /** Whether the probabilities are calibrated (the run's calibration option). */
  get calibrated(): boolean {
    return this.artifact.calibration !== undefined;
  }

  /** Whether the run tuned its decision (per-class scales applied to the probabilities). */
  get decisionTuned(): boolean {
    return this.artifact.classScales !== undefined;
  }

  /**
   * rows × classes probabilities for a raw feature matrix: calibrated when the run calibrated its model, then
   * scaled per class and renormalised when it tuned its decision (what the run's metrics scored).
   */
  predictMatrix(X: Matrix): Float64Array {
    return decisionProbabilities(
      this.artifact,
      this.model.predictProba(this.preprocessor.transform(this.applyFixes(X))),
    );
  }

  /** Clips like the mission's loader did for training (idempotent, so a table loaded with fixes is unchanged). */
  private applyFixes(X: Matrix): Matrix {
    if (this.clips.length === 0) return X;
    const data = X.data.slice();
    for (let r = 0; r < X.rows; r++) {
      for (const { feature, min, max } of this.clips) {
        const i = r * X.cols + feature;
        if (data[i] < min) data[i] = min;
        else if (data[i] > max) data[i] = max;
      }
    }
    return { rows: X.rows, cols: X.cols, data };
  }

  toPredictions(proba: Float64Array, warnings: string[][]): RowPrediction[] {
    const { classes } = this.artifact;
    const k = classes.length;
    const out: RowPrediction[] = [];
    for (let r = 0; r < proba.length / k; r++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (proba[r * k + c] > proba[r * k + best]) best = c;
      out.push({
        label: classes[best],
        confidence: proba[r * k + best],
        probabilities: classes.map((label, c) => ({ label, probability: proba[r * k + c] })),
        warnings: warnings[r] ?? [],
        calibrated: this.calibrated,
        decisionTuned: this.decisionTuned,
      });
    }
    return out;
  }

  predictRows(rows: readonly unknown[]): RowPrediction[] {
    if (rows.length > MAX_PREDICT_ROWS) {
      throw badInput(
        `At most ${MAX_PREDICT_ROWS} rows per call (got ${rows.length}); use a batch prediction for more.`,
        'rows',
      );
    }
    const { X, warnings } = this.parseRows(rows);
    return this.toPredictions(this.predictMatrix(X), warnings);
  }

  /** Explains the prediction of one row for `label` (default: the predicted class). */
  explain(row: unknown, label?: string | null, options: { seed?: number } = {}): RowExplanation {
    const { X, warnings } = this.parseRowsAt([row], () => 'row');
    const { classes, features } = this.artifact;
    const proba = this.predictMatrix(X);
    let outputIndex = 0;
    if (label !== undefined && label !== null) {
      outputIndex = classes.indexOf(label);
      if (outputIndex === -1)
        throw badInput(`Unknown label "${label}"; the classes are ${classes.join(', ')}.`, 'label');
    } else {
      for (let c = 1; c < classes.length; c++) if (proba[c] > proba[outputIndex]) outputIndex = c;
    }
    const rawRow = X.data;
    const ensemble = treeEnsembleOf(this.model);
    let baseValue: number;
    let contributions: Float64Array;
    let output: number;
    let outputSpace: 'probability' | 'margin';
    let method: RowExplanation['method'];
    if (ensemble) {
      const transformed = this.preprocessor.transform(this.applyFixes(X)).data;
      const shap = treeShap(ensemble, transformed, outputIndex);
      baseValue = shap.baseValue;
      contributions = shap.contributions;
      outputSpace = ensemble.outputSpace;
      output = baseValue + contributions.reduce((a, b) => a + b, 0);
      method = 'tree_shap';
    } else {
      const background = this.backgroundMatrix();
      const shapley = samplingShapley((M) => this.predictMatrix(M), rawRow, background, outputIndex, classes.length, {
        seed: options.seed ?? 42,
        permutations: SHAPLEY_PERMUTATIONS,
      });
      baseValue = shapley.baseValue;
      contributions = shapley.contributions;
      output = shapley.output;
      outputSpace = 'probability';
      method = 'sampling_shapley';
    }
    const sum = contributions.reduce((a, b) => a + b, 0);
    const values = Array.from(rawRow, (v) => (Number.isNaN(v) ? null : v));
    return {
      label: classes[outputIndex],
      outputSpace,
      method,
      baseValue,
      output,
      contributions: features.map((feature, j) => ({ feature, value: values[j], contribution: contributions[j] })),
      residual: output - baseValue - sum,
      reasons: explanationReasons(contributions, features, values, { className: classes[outputIndex], outputSpace }),
      warnings: [
        ...warnings[0],
        ...(ensemble && this.calibrated
          ? ["TreeSHAP explains the model's uncalibrated output; the run's predictions are calibrated probabilities."]
          : []),
        ...(ensemble && this.decisionTuned
          ? [
              "TreeSHAP explains the model's untuned output; the run's predictions scale each class's probability (decision tuning).",
            ]
          : []),
      ],
      calibrated: this.calibrated,
      decisionTuned: this.decisionTuned,
    };
  }

  private backgroundMatrix(): Matrix {
    const rows = this.artifact.background;
    const cols = this.artifact.features.length;
    const data = new Float64Array(rows.length * cols);
    rows.forEach((row, i) => {
      row.forEach((v, j) => (data[i * cols + j] = v ?? NaN));
    });
    return { rows: rows.length, cols, data };
  }
}
