/**
 * Hyperparameter searches as stored and streamed (issue 14 item 2): what a search was asked to do, its trials as
 * they start and end, and the events a `searchProgress` subscriber receives. The search itself is src/ml/selection.
 */
import type { SearchScoring, SearchStrategy, TrialResult, TrialStart } from '../ml/selection/search.js';
import type { SearchSpace } from '../ml/selection/search-space.js';
import type { DecisionTuning, RunConfig, RunStatus } from './run.js';

export type { SearchScoring, SearchStrategy };
export const SEARCH_STRATEGIES = ['RANDOM', 'SUCCESSIVE_HALVING'] as const satisfies readonly SearchStrategy[];
export const SEARCH_SCORINGS = ['CV_MACRO_F1', 'VALIDATION_MACRO_F1'] as const satisfies readonly SearchScoring[];

/** A search's status: a run's (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED). */
export type SearchStatus = RunStatus;

/** What a search was started with (stored immutable, the `config` column). */
export interface SearchConfig {
  strategy: SearchStrategy;
  scoring: SearchScoring;
  /** CV_MACRO_F1: folds over train + validation. */
  cvFolds: number;
  /** No trial starts after this many seconds. */
  budgetSeconds: number;
  /** RANDOM: trials; SUCCESSIVE_HALVING: first-rung candidates. Null: the strategy's default / the budget. */
  maxTrials: number | null;
  seed: number;
  /** One per model type searched, checked against the catalog (defaults merged with the caller's overrides). */
  spaces: SearchSpace[];
  /** The session's dataset and config the trials and the best trial's refit train with. */
  datasetId: string;
  run: SearchRunConfig;
  /**
   * MACRO_F1: the best trial's refit run tunes its decision for macro-F1 (on out-of-fold predictions of the
   * search's cvFolds with CV_MACRO_F1, on the validation split with VALIDATION_MACRO_F1). Searches stored before
   * the option lack it (NONE).
   */
  decisionTuning?: DecisionTuning;
}

/** A run's config without the model: what every trial shares (task, features, split, seed). */
export type SearchRunConfig = Omit<RunConfig, 'modelType' | 'hyperparameters'>;

export type SearchTrialStatus = 'RUNNING' | 'DONE' | 'FAILED';

/** A trial as stored: started (RUNNING, no score yet) or ended. */
export type SearchTrial = TrialStart &
  Partial<Omit<TrialResult, keyof TrialStart | 'status'>> & {
    status: SearchTrialStatus;
  };

export const SEARCH_EVENT_TYPES = ['SNAPSHOT', 'TRIAL_STARTED', 'TRIAL_DONE', 'BEST_CHANGED', 'DONE'] as const;
export type SearchEventType = (typeof SEARCH_EVENT_TYPES)[number];

/** One event of `searchProgress`. */
export interface SearchProgressEvent {
  searchId: string;
  /** 1, 2, … per subscription. */
  seq: number;
  type: SearchEventType;
  status: SearchStatus;
  /** TRIAL_STARTED / TRIAL_DONE: that trial; BEST_CHANGED: the new best. */
  trial: SearchTrial | null;
  /** The best trial so far (the best score of the highest rung reached). */
  best: SearchTrial | null;
  /** SNAPSHOT and DONE: the leaderboard so far; other events: empty. */
  leaderboard: SearchTrial[];
  /** DONE (SUCCEEDED): the training run that refits the best trial's parameters. */
  bestRunId: string | null;
  message: string | null;
  at: Date;
}
