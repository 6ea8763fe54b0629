import { builder } from './builder.js';
import {
  SEARCH_EVENT_TYPES,
  SEARCH_SCORINGS,
  SEARCH_STRATEGIES,
  type SearchProgressEvent,
  type SearchTrial,
} from '../domain/search.js';
import { bestTrial, leaderboard, type SearchRecord } from '../services/searches.js';
import { RunStatus, TrainingRun } from './training-run.js';
import { DecisionTuning } from './session.js';

const SearchStrategy = builder.enumType('SearchStrategy', {
  description:
    'RANDOM: independent draws from the space, each with the full budget of trees / rounds / epochs. SUCCESSIVE_HALVING ' +
    "(Hyperband's inner loop): maxTrials candidates (default 27) start with 1/9 of it (or of the rows), the best third " +
    'go on with 3× more, the last rung with all of it.',
  values: SEARCH_STRATEGIES,
});

const SearchScoring = builder.enumType('SearchScoring', {
  description:
    "CV_MACRO_F1: macro-F1 over cvFolds grouped stratified folds of the session's train + validation rows (mean ± sd). " +
    'VALIDATION_MACRO_F1: trained on the train split, scored on the validation split. The test split is never seen.',
  values: SEARCH_SCORINGS,
});

const SearchEventType = builder.enumType('SearchEventType', { values: SEARCH_EVENT_TYPES });

const SearchTrialStatus = builder.enumType('SearchTrialStatus', { values: ['RUNNING', 'DONE', 'FAILED'] as const });

const SearchTrialRef = builder.objectRef<SearchTrial>('SearchTrial').implement({
  description: 'One trial: a candidate trained and scored at one rung.',
  fields: (t) => ({
    trial: t.exposeInt('trial', { description: '1-based, in start order.' }),
    candidate: t.exposeInt('candidate', { description: '0-based draw number (seeded: the same seed draws the same).' }),
    modelType: t.exposeString('modelType'),
    params: t.field({ type: 'JSON', description: 'The hyperparameters it trained with.', resolve: (r) => r.params }),
    rung: t.exposeInt('rung', { description: 'Successive halving rung (0 for random search).' }),
    resourceShare: t.exposeFloat('resourceShare', {
      description: 'Share of the full trees / rounds / epochs or rows.',
    }),
    status: t.field({ type: SearchTrialStatus, resolve: (r) => r.status }),
    score: t.float({
      nullable: true,
      description: 'Mean macro-F1 (folds or validation).',
      resolve: (r) => r.score ?? null,
    }),
    sd: t.float({ nullable: true, description: 'Sample sd over the folds.', resolve: (r) => r.sd ?? null }),
    foldScores: t.floatList({ resolve: (r) => r.foldScores ?? [] }),
    fitSeconds: t.float({ nullable: true, resolve: (r) => r.fitSeconds ?? null }),
    seconds: t.float({ nullable: true, resolve: (r) => r.seconds ?? null }),
    error: t.string({ nullable: true, resolve: (r) => r.error ?? null }),
  }),
});

export const Search = builder.objectRef<SearchRecord>('Search').implement({
  description:
    "A hyperparameter search over a session's data: a queued job that holds one training slot while it runs; its best " +
    'trial is refitted as a normal training run (bestRun).',
  fields: (t) => ({
    id: t.exposeID('id'),
    sessionId: t.exposeID('sessionId'),
    status: t.field({ type: RunStatus, resolve: (s) => s.status }),
    strategy: t.field({ type: SearchStrategy, resolve: (s) => s.strategy }),
    scoring: t.field({ type: SearchScoring, resolve: (s) => s.scoring }),
    modelTypes: t.stringList({ resolve: (s) => s.config.spaces.map((space) => space.modelType) }),
    cvFolds: t.int({ resolve: (s) => s.config.cvFolds }),
    budgetSeconds: t.int({ resolve: (s) => s.config.budgetSeconds }),
    maxTrials: t.int({ nullable: true, resolve: (s) => s.config.maxTrials }),
    seed: t.int({ resolve: (s) => s.config.seed }),
    decisionTuning: t.field({
      type: DecisionTuning,
      description: "Whether the best trial's refit run tunes its decision for macro-F1.",
      resolve: (s) => s.config.decisionTuning ?? 'NONE',
    }),
    spaces: t.field({
      type: 'JSON',
      description: 'The spaces searched (defaults with the overrides given), as checked against the catalog.',
      resolve: (s) => s.config.spaces,
    }),
    trials: t.field({ type: [SearchTrialRef], description: 'Every trial in start order.', resolve: (s) => s.trials }),
    leaderboard: t.field({
      type: [SearchTrialRef],
      description: 'Each candidate once at its highest rung, best first (rung, then score).',
      resolve: (s) => leaderboard(s),
    }),
    best: t.field({ type: SearchTrialRef, nullable: true, resolve: (s) => bestTrial(s) }),
    bestRun: t.field({
      type: TrainingRun,
      nullable: true,
      description: "The run refitting the best trial's parameters (metrics on the held-out test split).",
      resolve: (s, _args, { services }) => (s.bestRunId ? services.runs.get(s.bestRunId) : null),
    }),
    queuePosition: t.int({
      nullable: true,
      resolve: (s, _args, { services }) => (s.status === 'QUEUED' ? services.searches.queuePosition(s.id) : null),
    }),
    message: t.exposeString('message', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

const SearchProgress = builder.objectRef<SearchProgressEvent>('SearchProgress').implement({
  description:
    'One event of a search. The first is a SNAPSHOT with the leaderboard so far; DONE (the last) carries the status, ' +
    'the leaderboard and the best run.',
  fields: (t) => ({
    searchId: t.exposeID('searchId'),
    seq: t.exposeInt('seq', { description: '1, 2, … per subscription.' }),
    type: t.field({ type: SearchEventType, resolve: (e) => e.type }),
    status: t.field({ type: RunStatus, resolve: (e) => e.status }),
    trial: t.field({ type: SearchTrialRef, nullable: true, resolve: (e) => e.trial }),
    best: t.field({ type: SearchTrialRef, nullable: true, resolve: (e) => e.best }),
    leaderboard: t.field({ type: [SearchTrialRef], resolve: (e) => e.leaderboard }),
    bestRunId: t.exposeID('bestRunId', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const SearchInput = builder.inputType('SearchInput', {
  fields: (t) => ({
    modelTypes: t.stringList({ required: true, description: 'Model ids or aliases to search (see `models`).' }),
    strategy: t.field({ type: SearchStrategy, defaultValue: 'RANDOM' }),
    scoring: t.field({ type: SearchScoring, defaultValue: 'CV_MACRO_F1' }),
    cvFolds: t.int({ defaultValue: 5, description: '2 to 10.' }),
    budgetSeconds: t.int({
      description: 'No trial starts after this (default 300, at most MAX_TRAINING_SECONDS); a started one finishes.',
    }),
    maxTrials: t.int({
      description: 'RANDOM: trials (default 20 without a budget); SUCCESSIVE_HALVING: first-rung candidates (27).',
    }),
    seed: t.int({ description: "Draws and models' seed (default the session's)." }),
    decisionTuning: t.field({
      type: DecisionTuning,
      defaultValue: 'NONE',
      description:
        "MACRO_F1: the best trial's refit run tunes its decision for macro-F1 (the search's score) on held-out rows: out-of-fold predictions of cvFolds folds with CV_MACRO_F1 (the refit run then cross-validates: cvFolds more fits), the validation split with VALIDATION_MACRO_F1. Default NONE: the refit is one fit and reports the model's own probabilities.",
    }),
    space: t.field({
      type: 'JSON',
      description:
        'Overrides of the default spaces, per model type: { "<modelType>": { "dimensions": [{ "name", "kind": ' +
        '"int" | "float" | "choice", "low", "high", "log" } | { "name", "kind": "choice", "values": [...] }], "fixed": ' +
        "{ name: value } } }, checked against the catalog's bounds.",
    }),
  }),
});

builder.queryFields((t) => ({
  search: t.field({
    type: Search,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.searches.get(caller, id),
  }),
  searches: t.field({
    type: [Search],
    description: "A session's searches, newest first.",
    args: { sessionId: t.arg.id({ required: true }) },
    resolve: (_root, { sessionId }, { services, caller }) => services.searches.ofSession(caller, sessionId),
  }),
}));

builder.mutationFields((t) => ({
  startSearch: t.field({
    type: Search,
    description:
      "Queues a hyperparameter search over the session's dataset and config. CONFLICT while a run or a search of the " +
      'session is active.',
    args: { sessionId: t.arg.id({ required: true }), input: t.arg({ type: SearchInput, required: true }) },
    resolve: (_root, { sessionId, input }, { services, caller }) => services.searches.start(caller, sessionId, input),
  }),
  cancelSearch: t.field({
    type: Search,
    description: 'Stops a queued or running search; the trials so far stay.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, { services, caller }) => services.searches.cancel(caller, id),
  }),
}));

builder.subscriptionField('searchProgress', (t) =>
  t.field({
    type: SearchProgress,
    description:
      'Live search: a SNAPSHOT first (the leaderboard so far), then TRIAL_STARTED / TRIAL_DONE / BEST_CHANGED per ' +
      'trial, then DONE; completes after DONE.',
    args: { searchId: t.arg.id({ required: true }) },
    subscribe: (_root, { searchId }, { services, caller }) => services.searches.subscribe(caller, searchId),
    resolve: (event) => event,
  }),
);
