/**
 * Hyperparameter searches as their own kind of job (issue 14 item 2): started from a session's config, queued on the
 * training queue (a search holds one training slot while it runs; job ids `search_…`), run in a worker thread
 * (src/ml/search-worker.ts), each trial stored as it starts and ends; the best trial's parameters are then refitted
 * as a normal training run (metrics, importance, explanations, predictions).
 *
 * `searchProgress` is derived from the stored trials, so it is gap-free and the same in every process: a subscriber
 * first gets a SNAPSHOT (the leaderboard so far), then the events of every trial stored since, then DONE. The
 * progress bus carries a wake-up under the search's id after every write (Redis across processes); a subscriber
 * also re-reads every POLL_MS, so a lost wake-up only delays it.
 */
import { MessageChannel } from 'node:worker_threads';
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Piscina } from 'piscina';
import type { SearchRow } from '../db/schema.js';
import type { Store } from '../db/store.js';
import { AppError, badInput, conflict, fromWorkerError, notFound } from '../domain/errors.js';
import {
  isTerminal,
  MISSING_FOR_TRAINING,
  type DecisionTuning,
  type RunStatus,
  type TerminalStatus,
} from '../domain/run.js';
import type {
  SearchConfig,
  SearchEventType,
  SearchProgressEvent,
  SearchScoring,
  SearchStrategy,
  SearchTrial,
} from '../domain/search.js';
import type { Logger } from '../logger.js';
import { resolveModelType, validateHyperparameters } from '../ml/catalog.js';
import { checkTrainable } from '../ml/pipeline.js';
import type { SearchMessage, SearchTask } from '../ml/search-task.js';
import { compareTrials, leaderboardOf, type SearchResult } from '../ml/selection/search.js';
import { spaceWithOverrides } from '../ml/selection/search-space.js';
import type { ModelTypeId } from '../ml/types.js';
import type { DatasetService } from './datasets.js';
import { newId } from './ids.js';
import { JOB_HANDED_BACK, JOB_LOCK_LOST } from './job-abort.js';
import type { JobQueue } from './job-queue.js';
import type { ProgressBus } from './progress-bus.js';
import type { Caller, OwnerService } from './owners.js';
import type { SessionService } from './sessions.js';
import type { RunQueries, TrainingCommands } from './training/index.js';
import { SEARCH_WORKER_FILE } from './worker-pool.js';

export type SearchRecord = SearchRow;

/** What `startSearch` takes (GraphQL SearchInput; REST `POST /training` with `search`). */
export interface SearchInput {
  modelTypes: readonly string[];
  strategy?: SearchStrategy | null;
  scoring?: SearchScoring | null;
  cvFolds?: number | null;
  budgetSeconds?: number | null;
  maxTrials?: number | null;
  seed?: number | null;
  /** MACRO_F1: the best trial's refit run tunes its decision for macro-F1 (default NONE). */
  decisionTuning?: DecisionTuning | null;
  /** Per model type: `{ dimensions?, fixed? }` over its default space (search-space.ts spaceWithOverrides). */
  space?: unknown;
}

/** Job ids of searches on the training queue start with this. */
export const SEARCH_JOB_PREFIX = 'search_';
const DEFAULT_BUDGET_SECONDS = 300;
const MAX_TRIALS = 500;
const MAX_CV_FOLDS = 10;
/** A subscriber re-reads the search this often when no wake-up came. */
const POLL_MS = 1000;
/** Longest wait for a finished worker's last messages. */
const PORT_DRAIN_MS = 1000;
const QUEUED_MESSAGE = 'Waiting in the training queue';
const STOPPED_MESSAGE = 'The server stopped while this search ran; it starts again when the server is back.';
const RESTART_MESSAGE = 'Interrupted by a server restart; start the search again.';
/** A RUNNING search whose job is gone from the shared queue (its Redis lost its data): nobody will finish it. */
export const SEARCH_LOST_MESSAGE =
  'Search failed: the search was lost from the shared training queue (Redis lost its data while it ran). Start the search again.';

export interface SearchServiceOptions {
  threads: number;
  /** A search's worker task is stopped after this long (MAX_TRAINING_SECONDS); budgetSeconds may not exceed it. */
  maxTrainingMs: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function intIn(value: number | null | undefined, fallback: number, min: number, max: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw badInput(`${field} must be an integer from ${min} to ${max}.`, field);
  return v;
}

/** The events a search's stored trials stand for, in order (trials run one at a time, so this only grows). */
function eventsOf(
  trials: readonly SearchTrial[],
): { type: SearchEventType; trial: SearchTrial; best: SearchTrial | null }[] {
  const out: { type: SearchEventType; trial: SearchTrial; best: SearchTrial | null }[] = [];
  let best: SearchTrial | null = null;
  for (const trial of trials) {
    out.push({ type: 'TRIAL_STARTED', trial, best });
    if (trial.status === 'RUNNING') continue;
    if (trial.status === 'DONE' && (best === null || compareTrials(trial, best) < 0)) {
      best = trial;
      out.push({ type: 'TRIAL_DONE', trial, best });
      out.push({ type: 'BEST_CHANGED', trial, best });
    } else out.push({ type: 'TRIAL_DONE', trial, best });
  }
  return out;
}

/** Each candidate once at its highest rung, best first (trials still running left out). */
export function leaderboard(search: Pick<SearchRecord, 'trials'>): SearchTrial[] {
  return leaderboardOf(search.trials.filter((t) => t.status !== 'RUNNING'));
}

export function bestTrial(search: Pick<SearchRecord, 'trials'>): SearchTrial | null {
  return leaderboard(search).find((t) => t.status === 'DONE') ?? null;
}

export class SearchService {
  private stopping = false;
  /** Trial writes of searches running here, in order. */
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly sessions: SessionService,
    private readonly datasets: DatasetService,
    private readonly owners: Pick<OwnerService, 'claim'>,
    private readonly runs: RunQueries,
    private readonly training: TrainingCommands,
    private readonly queue: JobQueue,
    private readonly bus: ProgressBus,
    private readonly pool: Pick<Piscina, 'run'>,
    private readonly logger: Logger,
    private readonly options: SearchServiceOptions,
  ) {}

  private get table() {
    return this.store.t.searches;
  }

  private read(id: string): Promise<SearchRecord | null> {
    return this.store.first('searches', { where: eq(this.table.id, id) });
  }

  private async readRequired(id: string): Promise<SearchRecord> {
    const search = await this.read(id);
    if (!search) throw notFound('Search', id);
    return search;
  }

  /** The search when the caller may use its session (owners.ts `canUse`), else null, as for an unknown id. */
  async get(caller: Caller, id: string): Promise<SearchRecord | null> {
    const search = await this.read(id);
    return search && (await this.sessions.get(caller, search.sessionId)) ? search : null;
  }

  async require(caller: Caller, id: string): Promise<SearchRecord> {
    const search = await this.get(caller, id);
    if (!search) throw notFound('Search', id);
    return search;
  }

  /** A session's searches, newest first. */
  async ofSession(caller: Caller, sessionId: string): Promise<SearchRecord[]> {
    await this.sessions.require(caller, sessionId);
    return this.store.select('searches', {
      where: eq(this.table.sessionId, sessionId),
      orderBy: [desc(this.table.createdAt)],
    });
  }

  queuePosition(id: string): Promise<number | null> {
    return this.queue.position(id);
  }

  /** Checks the input against the session, the catalog and MAX_TRAINING_SECONDS, stores the search and queues it. */
  async start(caller: Caller, sessionId: string, input: SearchInput): Promise<SearchRecord> {
    const session = await this.sessions.require(caller, sessionId);
    // A search starts many fits: it counts against the caller's creation rate like a run.
    this.owners.claim(caller, 'search');
    const { datasetId } = session;
    if (!datasetId) throw badInput(MISSING_FOR_TRAINING.datasetId, 'datasetId');
    const activeRun = await this.runs.activeRun(sessionId);
    if (activeRun)
      throw conflict(
        `Session ${sessionId} already has a training run ${activeRun.status.toLowerCase()} (${activeRun.id}); wait for it or cancel it first.`,
      );
    const activeSearch = await this.store.first('searches', {
      columns: ['id', 'status'],
      where: and(eq(this.table.sessionId, sessionId), inArray(this.table.status, ['QUEUED', 'RUNNING'])),
    });
    if (activeSearch)
      throw conflict(
        `Session ${sessionId} already has a search ${activeSearch.status.toLowerCase()} (${activeSearch.id}); wait for it or cancel it first.`,
      );

    if (input.modelTypes.length === 0) throw badInput('Name at least one model type to search.', 'input.modelTypes');
    const modelTypes: ModelTypeId[] = [];
    for (const name of input.modelTypes) {
      const id = resolveModelType(name);
      if (!id) throw badInput(`Unknown model type "${name}" (see \`models\`).`, 'input.modelTypes');
      if (!modelTypes.includes(id)) modelTypes.push(id);
    }
    if (input.space !== undefined && input.space !== null) {
      if (!isRecord(input.space))
        throw badInput('space is an object of model type → { dimensions?, fixed? }.', 'input.space');
      const stray = Object.keys(input.space).find((k) => !modelTypes.some((m) => m === resolveModelType(k)));
      if (stray !== undefined) throw badInput(`space names "${stray}", which is not searched.`, `space.${stray}`);
    }
    const overrides = isRecord(input.space) ? input.space : {};
    const spaces = modelTypes.map((m) =>
      spaceWithOverrides(m, Object.entries(overrides).find(([k]) => resolveModelType(k) === m)?.[1]),
    );
    const strategy = input.strategy ?? 'RANDOM';
    const scoring = input.scoring ?? 'CV_MACRO_F1';
    const maxBudget = Math.floor(this.options.maxTrainingMs / 1000);
    const config: SearchConfig = {
      strategy,
      scoring,
      cvFolds: intIn(input.cvFolds, 5, 2, MAX_CV_FOLDS, 'input.cvFolds'),
      budgetSeconds: intIn(
        input.budgetSeconds,
        Math.min(DEFAULT_BUDGET_SECONDS, maxBudget),
        1,
        maxBudget,
        'input.budgetSeconds',
      ),
      maxTrials:
        input.maxTrials === null || input.maxTrials === undefined
          ? null
          : intIn(input.maxTrials, 1, 1, MAX_TRIALS, 'input.maxTrials'),
      seed: intIn(input.seed, session.seed, 0, 2 ** 31 - 1, 'input.seed'),
      spaces,
      datasetId,
      decisionTuning: input.decisionTuning ?? 'NONE',
      run: {
        features: session.features,
        useVettingFeatures: session.useVettingFeatures,
        task: session.task,
        split: session.split,
        seed: session.seed,
      },
    };
    if (scoring === 'VALIDATION_MACRO_F1' && !(session.split.validation > 0))
      throw badInput(
        'VALIDATION_MACRO_F1 scores on the validation split: give the session a validation share above 0.',
        'input.scoring',
      );
    await this.datasets.requireAvailable(datasetId, 'datasetId', caller);
    await this.datasets.resolveFeatures(datasetId, {
      features: session.features,
      useVettingFeatures: session.useVettingFeatures,
    });
    checkTrainable(await this.datasets.labeledTable(datasetId), config.run);

    const id = newId('search');
    await this.store.insert('searches', {
      id,
      sessionId,
      status: 'QUEUED',
      strategy,
      scoring,
      config,
      trials: [],
      message: QUEUED_MESSAGE,
      createdAt: new Date(),
    });
    await this.queue.enqueue(id);
    this.wake(id, 'QUEUED');
    return this.readRequired(id);
  }

  /** Cancels a queued search (it never starts) or a running one (its worker is stopped; trials so far are kept). */
  async cancel(caller: Caller, id: string): Promise<SearchRecord> {
    const search = await this.require(caller, id);
    if (isTerminal(search.status)) throw conflict(`Search ${id} has already ended (${search.status}).`);
    if ((await this.queue.remove(id)) || !(await this.queue.isRunning(id))) {
      await this.finish(id, 'CANCELLED', { message: 'Cancelled before it started' });
    } else {
      await this.queue.abort(id);
      await this.finish(id, 'CANCELLED', { message: 'Cancelled by the user' });
    }
    return this.readRequired(id);
  }

  /** A session is being deleted: its queued and running searches stop (their rows go with the session). */
  async releaseSession(sessionId: string): Promise<void> {
    const active = await this.store.select('searches', {
      columns: ['id'],
      where: and(eq(this.table.sessionId, sessionId), inArray(this.table.status, ['QUEUED', 'RUNNING'])),
    });
    for (const { id } of active) {
      if (!(await this.queue.remove(id))) await this.queue.abort(id);
      await this.finish(id, 'CANCELLED', { message: 'Cancelled: its session was deleted' });
    }
  }

  /** A graceful stop: searches that the queue aborts now go back to the queue. */
  prepareShutdown(): void {
    this.stopping = true;
  }

  /**
   * Start-up (and, with a shared queue, every QUEUE_RECONCILE_SECONDS), the rule of TrainingCommands.recover for
   * runs: searches left RUNNING that no worker holds and the queue does not hold either fail with the reason; QUEUED
   * ones are queued (again: queueing is idempotent).
   */
  async recover(): Promise<{ failed: number; requeued: number }> {
    let failed = 0;
    const left = await this.store.select('searches', {
      columns: ['id', 'status'],
      where: inArray(this.table.status, ['QUEUED', 'RUNNING']),
    });
    for (const { id, status } of left) {
      if (status !== 'RUNNING') continue;
      if ((await this.queue.isRunning(id)) || (await this.queue.position(id)) !== null) continue;
      const reason = this.queue.failedReason ? await this.queue.failedReason(id, 'search') : undefined;
      const message = reason ?? (reason === null ? SEARCH_LOST_MESSAGE : RESTART_MESSAGE);
      await this.finish(id, 'FAILED', { message, error: message });
      failed++;
    }
    const queued = left.filter((s) => s.status === 'QUEUED');
    for (const { id } of queued) await this.queue.enqueue(id);
    return { failed, requeued: queued.length };
  }

  /** The training queue's executor for `search_…` jobs. */
  readonly execute = async (id: string, signal: AbortSignal): Promise<void> => {
    const search = await this.read(id);
    if (search?.status !== 'QUEUED') return;
    const { config } = search;
    const started = await this.store.update(
      'searches',
      { status: 'RUNNING', startedAt: new Date(), trials: [], message: 'Loading the dataset' },
      and(eq(this.table.id, id), eq(this.table.status, 'QUEUED')),
    );
    if (started === 0) return;
    this.wake(id, 'RUNNING');
    const trials: SearchTrial[] = [];
    const channel = new MessageChannel();
    const budget = new AbortController();
    const budgetTimer = setTimeout(() => {
      budget.abort();
    }, this.options.maxTrainingMs);
    try {
      const location = await this.datasets.location(config.datasetId);
      channel.port1.on('message', (message: SearchMessage) => {
        if (message.type === 'trialStart') trials.push({ ...message.trial, status: 'RUNNING' });
        else {
          const at = trials.findIndex((t) => t.trial === message.trial.trial);
          if (at !== -1) trials[at] = message.trial;
        }
        const best = message.type === 'trialEnd' ? message.best : null;
        const text =
          message.type === 'trialStart'
            ? `Trial ${message.trial.trial}: ${message.trial.modelType}`
            : `Trial ${message.trial.trial} done${typeof best?.score === 'number' ? `; best macro-F1 ${best.score.toFixed(3)} (trial ${best.trial})` : ''}`;
        this.write(id, { trials: [...trials], message: text });
      });
      const portClosed = new Promise<void>((resolve) =>
        channel.port1.once('close', () => {
          resolve();
        }),
      );
      const task: SearchTask = {
        kind: 'search',
        location,
        run: config.run,
        search: {
          spaces: config.spaces,
          strategy: config.strategy,
          seed: config.seed,
          maxSeconds: config.budgetSeconds,
          ...(config.maxTrials === null ? {} : { maxTrials: config.maxTrials }),
        },
        scoring: config.scoring,
        cvFolds: config.cvFolds,
        threads: this.options.threads,
        port: channel.port2,
      };
      const result = (await this.pool.run(task, {
        filename: SEARCH_WORKER_FILE,
        transferList: [channel.port2],
        signal: AbortSignal.any([signal, budget.signal]),
      })) as SearchResult;
      // The result can overtake the last trial's message: wait for the port (bounded), then for its write.
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([portClosed, new Promise((resolve) => (drainTimer = setTimeout(resolve, PORT_DRAIN_MS)))]);
      clearTimeout(drainTimer);
      await this.writes.get(id);
      if ((await this.read(id))?.status !== 'RUNNING') return;
      await this.refitBest(id, search.sessionId, config, result, trials);
    } catch (error) {
      await this.writes.get(id);
      if (budget.signal.aborted && !signal.aborted) {
        const message = `Stopped after ${Math.round(this.options.maxTrainingMs / 1000)} s (MAX_TRAINING_SECONDS); lower budgetSeconds or maxTrials.`;
        await this.finish(id, 'FAILED', { message, error: message });
        return;
      }
      if (signal.aborted) {
        if (signal.reason === JOB_LOCK_LOST) return;
        if (this.stopping || signal.reason === JOB_HANDED_BACK) await this.requeue(id);
        else await this.finish(id, 'CANCELLED', { message: 'Cancelled by the user' });
        return;
      }
      const coded = fromWorkerError(error);
      if (!(coded instanceof AppError)) this.logger.error('search failed', { searchId: id, err: error });
      const message =
        coded instanceof AppError
          ? coded.message
          : `The search failed because of an unexpected error on the server (logged under search ${id}).`;
      await this.finish(id, 'FAILED', { message, error: message });
    } finally {
      clearTimeout(budgetTimer);
      channel.port1.close();
      this.writes.delete(id);
    }
  };

  /** The best trial's parameters trained as a normal run of the session (queued after the search ends). */
  private async refitBest(
    id: string,
    sessionId: string,
    config: SearchConfig,
    result: SearchResult,
    trials: SearchTrial[],
  ): Promise<void> {
    const best = result.best;
    const ended = `${result.trials.length} trial${result.trials.length === 1 ? '' : 's'}${result.stoppedBecause === 'TIME' ? ' (budget spent)' : ''}`;
    if (best?.score == null) {
      const reason = result.trials.find((t) => t.error)?.error;
      const message = `No trial succeeded (${ended})${reason ? `: ${reason}` : ''}.`;
      await this.finish(id, 'FAILED', { message, error: message, trials: result.trials });
      return;
    }
    const hyperparameters = validateHyperparameters(best.modelType, best.params);
    // Decision tuning fits on held-out rows as the search scored: out-of-fold predictions of its folds, else the
    // validation split (the refit run then re-runs the cross-validation to get them for the refitted configuration).
    const tuning =
      config.decisionTuning === 'MACRO_F1'
        ? {
            decisionTuning: 'MACRO_F1' as const,
            ...(config.scoring === 'CV_MACRO_F1' ? { cvFolds: config.cvFolds } : {}),
          }
        : {};
    const run = await this.training.queueRun(
      sessionId,
      config.datasetId,
      { ...config.run, ...tuning, modelType: best.modelType, hyperparameters },
      [],
    );
    const sd = best.sd === null ? '' : ` ± ${best.sd.toFixed(3)}`;
    await this.finish(id, 'SUCCEEDED', {
      message: `Done: ${ended}; best trial ${best.trial} (${best.modelType}) macro-F1 ${best.score.toFixed(3)}${sd}, refitted as run ${run.id}`,
      bestRunId: run.id,
      trials: trials.length === result.trials.length ? result.trials : trials,
    });
  }

  /** Stores a running search's trials (in order) and wakes its subscribers. */
  private write(id: string, set: { trials: SearchTrial[]; message: string }): void {
    const previous = this.writes.get(id) ?? Promise.resolve();
    const next = previous
      .then(() => this.store.update('searches', set, and(eq(this.table.id, id), eq(this.table.status, 'RUNNING'))))
      .then(
        () => {
          this.wake(id, 'RUNNING');
        },
        (error: unknown) => {
          this.logger.warn('could not store a search trial', { searchId: id, err: error });
        },
      );
    this.writes.set(id, next);
  }

  /** The search's end, stored only over a non-terminal status (a cancel that came first stays). */
  private async finish(
    id: string,
    status: TerminalStatus,
    set: { message: string; error?: string; bestRunId?: string; trials?: SearchTrial[] },
  ): Promise<void> {
    await this.store.update(
      'searches',
      { status, finishedAt: new Date(), ...set },
      and(eq(this.table.id, id), inArray(this.table.status, ['QUEUED', 'RUNNING'])),
    );
    this.wake(id, status);
  }

  private async requeue(id: string): Promise<void> {
    try {
      await this.store.update(
        'searches',
        { status: 'QUEUED', startedAt: null, trials: [], message: STOPPED_MESSAGE },
        eq(this.table.id, id),
      );
    } catch (error) {
      this.logger.warn('could not put a search back in the queue at shutdown', { searchId: id, err: error });
    }
  }

  /** A wake-up for the search's subscribers, on the progress bus under the search's id (Redis across processes). */
  private wake(id: string, status: RunStatus): void {
    this.bus.publish({
      runId: id,
      seq: 0,
      status,
      stage: isTerminal(status) ? 'DONE' : status === 'QUEUED' ? 'QUEUED' : 'TRAINING',
      progress: 0,
      step: 0,
      totalSteps: 0,
      metrics: null,
      message: 'search changed',
      etaSeconds: null,
      at: new Date(),
      queuePosition: null,
    });
  }

  /**
   * `searchProgress`: a SNAPSHOT (the leaderboard so far), then TRIAL_STARTED / TRIAL_DONE / BEST_CHANGED for every
   * trial stored since, then DONE with the status, the leaderboard and the best trial's run; completes after DONE.
   */
  async subscribe(caller: Caller, id: string): Promise<AsyncIterable<SearchProgressEvent>> {
    await this.require(caller, id);
    const wakeups = this.bus.subscribe(id)[Symbol.asyncIterator]();
    await this.bus.attached?.();
    return this.stream(id, wakeups);
  }

  private async *stream(
    id: string,
    wakeups: AsyncIterator<unknown>,
  ): AsyncGenerator<SearchProgressEvent, void, undefined> {
    let seq = 0;
    const event = (
      search: SearchRecord,
      type: SearchEventType,
      trial: SearchTrial | null,
      best: SearchTrial | null,
      withBoard: boolean,
    ): SearchProgressEvent => ({
      searchId: id,
      seq: ++seq,
      type,
      status: search.status,
      trial,
      best,
      leaderboard: withBoard ? leaderboard(search) : [],
      bestRunId: search.bestRunId,
      message: search.message,
      at: new Date(),
    });
    let pending = wakeups.next();
    try {
      let search = await this.readRequired(id);
      let emitted = eventsOf(search.trials).length;
      yield event(search, 'SNAPSHOT', null, bestTrial(search), true);
      for (;;) {
        const events = eventsOf(search.trials);
        for (const e of events.slice(emitted)) yield event(search, e.type, e.trial, e.best, false);
        emitted = Math.max(emitted, events.length);
        if (isTerminal(search.status)) {
          yield event(search, 'DONE', null, bestTrial(search), true);
          return;
        }
        let timer: NodeJS.Timeout | undefined;
        const woke = await Promise.race([
          pending.then(() => true),
          new Promise<false>(
            (resolve) =>
              (timer = setTimeout(() => {
                resolve(false);
              }, POLL_MS)),
          ),
        ]);
        clearTimeout(timer);
        if (woke) pending = wakeups.next();
        search = await this.readRequired(id);
      }
    } finally {
      await wakeups.return?.();
    }
  }
}
