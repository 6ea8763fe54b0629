/**
 * Hyperparameter search: random search and successive halving over one or more model types' spaces
 * (search-space.ts), seeded and reproducible, each trial scored by cross-validated macro-F1 (grouped stratified
 * folds) or on a validation split; the result is a leaderboard (trial, parameters, score ± sd, fit time).
 *
 * - Candidates: candidate i draws its model type (uniformly among the spaces) and its parameters from its own
 *   generator, seeded by (seed, i): the same seed gives the same candidates in the same order, whatever the clock.
 *   Every trial's model gets the search's seed.
 * - RANDOM: candidates 0, 1, 2, … each trained with the full resource, until `maxTrials` or `maxSeconds`.
 * - SUCCESSIVE_HALVING (Hyperband's inner loop, as scikit-learn's HalvingRandomSearchCV): `maxTrials` candidates
 *   (default 27) start with 1/factor^(rungs−1) of the full resource (trees, rounds, epochs, or rows: see
 *   search-space.ts); after each rung the best ⌈n/factor⌉ go on with factor times more, the last rung with all of it.
 * - `maxSeconds`: no trial starts after it (a started trial finishes); the count of trials then depends on the
 *   machine, never which candidates they are. The best trial is the best score of the highest rung reached.
 */
import { getModelSpec } from '../catalog.js';
import { macroF1, argmaxRows } from '../evaluate.js';
import { Random } from '../random.js';
import { takeLabels, throwIfAborted, type Hyperparameters, type Matrix, type ModelTypeId } from '../types.js';
import { crossValidate, summaryOf, type CvProgress } from './cross-validate.js';
import { modelFoldTrainer } from './model-folds.js';
import { checkSearchSpace, sampleParams, withResource, type SearchSpace } from './search-space.js';

export type SearchStrategy = 'RANDOM' | 'SUCCESSIVE_HALVING';
export type SearchScoring = 'CV_MACRO_F1' | 'VALIDATION_MACRO_F1';

export interface SearchConfig {
  spaces: SearchSpace[];
  strategy: SearchStrategy;
  seed: number;
  /** RANDOM: trials (default 20, or unlimited with maxSeconds); SUCCESSIVE_HALVING: first-rung candidates (27). */
  maxTrials?: number;
  /** No trial starts after this many seconds. */
  maxSeconds?: number;
  /** Successive halving: keep 1/factor per rung (default 3) over `rungs` rungs (default 3). */
  factor?: number;
  rungs?: number;
}

export interface Candidate {
  /** 0-based draw number. */
  candidate: number;
  modelType: ModelTypeId;
  /** Complete, catalog-checked, at the full resource. */
  params: Hyperparameters;
}

export interface TrialStart {
  /** 1-based, in the order trials start. */
  trial: number;
  candidate: number;
  modelType: ModelTypeId;
  /** What the trial trains with (the resource applied). */
  params: Hyperparameters;
  /** 0-based rung (always 0 for random search). */
  rung: number;
  /** Share of the full resource. */
  resourceShare: number;
  /** Trees / rounds / epochs, or the row share. */
  resourceAmount: number;
}

export interface TrialResult extends TrialStart {
  status: 'DONE' | 'FAILED';
  /** Mean macro-F1 over the folds (or on the validation split). */
  score: number | null;
  /** Sample sd over the folds; null for a validation score. */
  sd: number | null;
  foldScores: number[];
  /** Seconds spent fitting (all folds). */
  fitSeconds: number;
  /** Seconds the whole trial took. */
  seconds: number;
  error?: string;
}

export interface TrialScore {
  score: number | null;
  sd: number | null;
  foldScores: number[];
  fitSeconds: number;
}

export interface TrialContext {
  trial: number;
  signal?: AbortSignal;
  onCvProgress: (event: CvProgress) => void;
}

/** Scores one candidate at a row share (the resource is already in its params). */
export type TrialEvaluator = (
  candidate: { modelType: ModelTypeId; params: Hyperparameters; rowFraction: number },
  context: TrialContext,
) => Promise<TrialScore>;

export interface SearchHooks {
  signal?: AbortSignal;
  onTrialStart?: (trial: TrialStart) => void;
  onTrialEnd?: (trial: TrialResult, best: TrialResult | null) => void;
  onCvProgress?: (trial: number, event: CvProgress) => void;
}

export interface SearchResult {
  strategy: SearchStrategy;
  seed: number;
  trials: TrialResult[];
  /** Each candidate once (its highest rung), by rung then score, best first. */
  leaderboard: TrialResult[];
  best: TrialResult | null;
  stoppedBecause: 'COMPLETED' | 'TIME';
  seconds: number;
}

/** The data a search scores on: raw features (NaN = missing), labels, stars. */
export interface SearchData {
  X: Matrix;
  labels: Int32Array;
  groups: readonly string[] | null;
  classes: readonly string[];
}

/** Cross-validated macro-F1 (grouped stratified folds, seeded) of catalog models, as pipeline.ts trains them. */
export function cvEvaluator(
  data: SearchData,
  options: { folds: number; seed: number; threads?: number },
): TrialEvaluator {
  return async (candidate, context) => {
    const result = await crossValidate(
      modelFoldTrainer({
        X: data.X,
        labels: data.labels,
        groups: data.groups,
        numClasses: data.classes.length,
        modelType: candidate.modelType,
        hyperparameters: candidate.params,
        threads: options.threads,
        rowFraction: candidate.rowFraction,
      }),
      {
        labels: data.labels,
        groups: data.groups,
        classes: data.classes,
        folds: options.folds,
        seed: options.seed,
        signal: context.signal,
        onProgress: context.onCvProgress,
      },
    );
    const foldScores = result.perFold.map((f) => f.metrics.macroF1 ?? 0);
    const summary = summaryOf(foldScores);
    return { score: summary.mean, sd: summary.sd, foldScores, fitSeconds: result.fitSeconds };
  };
}

/** Macro-F1 on a fixed validation split (rows of `data`), the model trained on `trainRows`. */
export function validationEvaluator(
  data: SearchData,
  split: { trainRows: Int32Array; validationRows: Int32Array },
  options: { seed: number; threads?: number },
): TrialEvaluator {
  return async (candidate, context) => {
    const train = modelFoldTrainer({
      X: data.X,
      labels: data.labels,
      groups: data.groups,
      numClasses: data.classes.length,
      modelType: candidate.modelType,
      hyperparameters: candidate.params,
      threads: options.threads,
      rowFraction: candidate.rowFraction,
    });
    const started = performance.now();
    const predict = await train(split.trainRows, {
      fold: 1,
      folds: 1,
      seed: options.seed,
      signal: context.signal,
      onStep: (step) => {
        context.onCvProgress({
          phase: 'STEP',
          fold: 1,
          folds: 1,
          step,
          progress: step.totalSteps > 0 ? step.step / step.totalSteps : 0,
          message: `Step ${step.step} of ${step.totalSteps}`,
        });
      },
    });
    const fitSeconds = (performance.now() - started) / 1000;
    const k = data.classes.length;
    const predicted = argmaxRows(await predict(split.validationRows), k);
    const score = macroF1(takeLabels(data.labels, split.validationRows), predicted, k);
    return { score, sd: null, foldScores: [score], fitSeconds };
  };
}

/** Candidate i of a search: its model type and parameters, from its own seeded generator. */
export function drawCandidate(spaces: readonly SearchSpace[], seed: number, candidate: number): Candidate {
  const random = new Random((Math.imul(seed, 0x2c1b3c6d) ^ Math.imul(candidate + 1, 0x9e3779b1)) >>> 0);
  const space = spaces[random.int(spaces.length)];
  return { candidate, modelType: space.modelType, params: sampleParams(space, random) };
}

/** What ranks trials: the leaderboard's order. */
interface Ranked {
  trial: number;
  candidate: number;
  rung: number;
  score?: number | null;
}

/** Leaderboard order: higher rung first, then higher score, then earlier trial. */
export const compareTrials = (a: Ranked, b: Ranked) =>
  b.rung - a.rung || (b.score ?? -Infinity) - (a.score ?? -Infinity) || a.trial - b.trial;

/** Each candidate once (its highest rung), by rung then score, best first. */
export function leaderboardOf<T extends Ranked>(trials: readonly T[]): T[] {
  const latest = new Map<number, T>();
  for (const t of trials) {
    const seen = latest.get(t.candidate);
    if (!seen || t.rung >= seen.rung) latest.set(t.candidate, t);
  }
  return [...latest.values()].sort(compareTrials);
}

export async function runSearch(
  config: SearchConfig,
  evaluateTrial: TrialEvaluator,
  hooks: SearchHooks = {},
): Promise<SearchResult> {
  if (config.spaces.length === 0) throw new RangeError('a search needs at least one space');
  for (const space of config.spaces) checkSearchSpace(space);
  const spaceOf = new Map(config.spaces.map((s) => [s.modelType, s]));
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const outOfTime = () => config.maxSeconds !== undefined && elapsed() >= config.maxSeconds;
  const trials: TrialResult[] = [];
  let best: TrialResult | null = null;
  let stoppedBecause: SearchResult['stoppedBecause'] = 'COMPLETED';

  const runTrial = async (candidate: Candidate, rung: number, share: number): Promise<TrialResult> => {
    const space = spaceOf.get(candidate.modelType);
    if (!space) throw new RangeError(`no space for ${candidate.modelType}`);
    const applied = withResource(space, candidate.params, share);
    const start: TrialStart = {
      trial: trials.length + 1,
      candidate: candidate.candidate,
      modelType: candidate.modelType,
      params: applied.params,
      rung,
      resourceShare: share,
      resourceAmount: applied.amount,
    };
    hooks.onTrialStart?.(start);
    const trialStarted = performance.now();
    let result: TrialResult;
    try {
      const score = await evaluateTrial(
        { modelType: candidate.modelType, params: applied.params, rowFraction: applied.rowFraction },
        {
          trial: start.trial,
          signal: hooks.signal,
          onCvProgress: (event) => hooks.onCvProgress?.(start.trial, event),
        },
      );
      result = { ...start, status: 'DONE', ...score, seconds: (performance.now() - trialStarted) / 1000 };
    } catch (error) {
      throwIfAborted(hooks.signal);
      result = {
        ...start,
        status: 'FAILED',
        score: null,
        sd: null,
        foldScores: [],
        fitSeconds: 0,
        seconds: (performance.now() - trialStarted) / 1000,
        error: error instanceof Error ? error.message : String(error),
      };
    }
    trials.push(result);
    if (result.status === 'DONE' && (best === null || compareTrials(result, best) < 0)) best = result;
    hooks.onTrialEnd?.(result, best);
    return result;
  };

  if (config.strategy === 'RANDOM') {
    const limit = config.maxTrials ?? (config.maxSeconds !== undefined ? Infinity : 20);
    for (let i = 0; i < limit; i++) {
      throwIfAborted(hooks.signal);
      if (outOfTime()) {
        stoppedBecause = 'TIME';
        break;
      }
      await runTrial(drawCandidate(config.spaces, config.seed, i), 0, 1);
    }
  } else {
    const factor = config.factor ?? 3;
    const rungs = config.rungs ?? 3;
    let alive = Array.from({ length: config.maxTrials ?? 27 }, (_, i) => drawCandidate(config.spaces, config.seed, i));
    outer: for (let rung = 0; rung < rungs && alive.length > 0; rung++) {
      const share = Math.pow(factor, rung - (rungs - 1));
      const results: { candidate: Candidate; result: TrialResult }[] = [];
      for (const candidate of alive) {
        throwIfAborted(hooks.signal);
        if (outOfTime()) {
          stoppedBecause = 'TIME';
          break outer;
        }
        results.push({ candidate, result: await runTrial(candidate, rung, share) });
      }
      const keep = Math.ceil(alive.length / factor);
      alive = results
        .filter((r) => r.result.status === 'DONE')
        .sort((a, b) => compareTrials(a.result, b.result))
        .slice(0, keep)
        .map((r) => r.candidate);
    }
  }

  const leaderboard = leaderboardOf(trials);
  return {
    strategy: config.strategy,
    seed: config.seed,
    trials,
    leaderboard,
    best: leaderboard.find((t) => t.status === 'DONE') ?? null,
    stoppedBecause,
    seconds: elapsed(),
  };
}

/** A short description of a trial's parameters for logs: the values its space searches over. */
export function describeParams(modelType: ModelTypeId, params: Hyperparameters, space?: SearchSpace): string {
  const names = space
    ? space.dimensions.map((d) => d.name)
    : getModelSpec(modelType).hyperparameters.map((s) => s.name);
  if (space?.resource.kind === 'param') names.unshift(space.resource.param);
  return names
    .map((name) => {
      const value = params[name];
      return `${name}=${typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(3) : JSON.stringify(value)}`;
    })
    .join(' ');
}
