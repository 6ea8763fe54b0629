/**
 * A training run as every layer sees it: its status and stage, its progress events, the JSON it stores (config,
 * metrics, importance, timings, details) and the rule for when a session can train. Storage columns, GraphQL types,
 * REST and the ML worker are all typed from here. Pure: no GraphQL, DB or HTTP imports (the ML result types it
 * stores are the ML layer's own, imported as types).
 */
import type { Metrics } from '../ml/evaluate.js';
import type { ExplanationInfo, FeatureImportanceEntry, PipelineConfig } from '../ml/pipeline.js';
import type { HistoryPoint, Hyperparameters, ModelTypeId } from '../ml/types.js';
import type { SplitCounts } from './data.js';

// ---------------------------------------------------------------------------------------------------------------
// Status and stage

/** Where a run is in its life: waiting in the queue, training, or ended (the last three). */
export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type TerminalStatus = 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set<TerminalStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export function isTerminal(status: RunStatus): status is TerminalStatus {
  return TERMINAL_STATUSES.has(status);
}

/** Waiting or training: a session with such a run cannot start another. */
export function isActive(status: RunStatus): status is 'QUEUED' | 'RUNNING' {
  return status === 'QUEUED' || status === 'RUNNING';
}

/** The stages the training pipeline reports, in order (the ML worker knows nothing of queues). */
export const PIPELINE_STAGES = ['LOADING', 'PREPROCESSING', 'TRAINING', 'EVALUATING', 'EXPLAINING', 'SAVING'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];
/** Stages after fitting: they count steps of their own (rows predicted, features permuted, bytes compressed). */
export type PostFitStage = Extract<PipelineStage, 'EVALUATING' | 'EXPLAINING' | 'SAVING'>;

/** A run's stage: QUEUED before the pipeline starts, DONE after it succeeded, else the pipeline's stage. */
export const RUN_STAGES = ['QUEUED', ...PIPELINE_STAGES, 'DONE'] as const;
export type RunStage = (typeof RUN_STAGES)[number];

// ---------------------------------------------------------------------------------------------------------------
// Progress

/** Latest loss / validation figures of a step, where the model has them. */
export interface ProgressMetrics {
  loss?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface TrainingProgressEvent {
  runId: string;
  /** Per run, increasing: a client that reconnects skips what it has seen. */
  seq: number;
  status: RunStatus;
  stage: RunStage;
  /** 0..1 over the whole run. */
  progress: number;
  step: number;
  totalSteps: number;
  metrics: ProgressMetrics | null;
  message: string | null;
  etaSeconds: number | null;
  at: Date;
  /** 1-based place in the queue while QUEUED. */
  queuePosition: number | null;
}

// ---------------------------------------------------------------------------------------------------------------
// What a run stores (JSON columns)

/** The immutable snapshot of the session's config that a run trains (what the ML pipeline receives). */
export type RunConfig = PipelineConfig;

/** Seconds per part of a run; runs stored by older versions may lack the newer parts. */
export interface RunTimings {
  queuedSeconds?: number;
  loadSeconds?: number;
  preprocessSeconds?: number;
  fitSeconds?: number;
  evaluateSeconds?: number;
  explainSeconds?: number;
  permutationSeconds?: number;
  totalSeconds?: number;
}

/** Test-split metrics of a succeeded run. */
export type RunMetrics = Metrics;
export type { FeatureImportanceEntry, ExplanationInfo, HistoryPoint, Hyperparameters, ModelTypeId };

/**
 * What a run learnt beyond its metrics. `warnings` is set when the run is queued, the rest when it succeeded; runs
 * stored by older versions may lack any of it.
 */
export interface RunDetails {
  /** Trainable but worth knowing, e.g. a class with very few rows. */
  warnings?: string[];
  /** Loss / validation figures per tree, round or epoch. */
  history?: HistoryPoint[];
  splitCounts?: SplitCounts;
  /** The features the model used. */
  features?: string[];
  usesVettingFeatures?: boolean;
  /** Test rows each permutation repeat scored. */
  permutationRows?: number;
  explanation?: ExplanationInfo;
}

// ---------------------------------------------------------------------------------------------------------------
// When a session can train

/** The parts of a session's config that must be chosen before training. */
export interface TrainableConfig {
  datasetId: string | null;
  modelType: ModelTypeId | null;
}

export type MissingForTraining = 'datasetId' | 'modelType';

/** Why a start is refused for each missing part (the field named is the one to set). */
export const MISSING_FOR_TRAINING: Readonly<Record<MissingForTraining, string>> = {
  datasetId: 'Choose a dataset first (configureSession datasetId).',
  modelType: 'Choose a model type first (configureSession modelType).',
};

/** What must still be chosen before a session can train, in the order a start reports it; empty when nothing is. */
export function missingForTraining(config: TrainableConfig): MissingForTraining[] {
  const missing: MissingForTraining[] = [];
  if (!config.datasetId) missing.push('datasetId');
  if (!config.modelType) missing.push('modelType');
  return missing;
}

/** The data and the model are chosen (narrows the config's type for the start of a run). */
export function hasTrainingChoices<T extends TrainableConfig>(
  config: T,
): config is T & { datasetId: string; modelType: ModelTypeId } {
  return missingForTraining(config).length === 0;
}

/**
 * The one "ready to train" rule: the data and the model are chosen, and no run of the session is waiting or
 * training (a start would then be a CONFLICT).
 */
export function readyToTrain(config: TrainableConfig, hasActiveRun: boolean): boolean {
  return !hasActiveRun && missingForTraining(config).length === 0;
}
