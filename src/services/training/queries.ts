/**
 * Reads of training runs and their stored progress events: the one place that queries `training_runs` and
 * `progress_events` (the training commands and progress write them).
 */
import { and, asc, desc, eq, gt, inArray, lt } from 'drizzle-orm';
import type { ProgressEventRow, TrainingRunRow } from '../../db/schema.js';
import type { Store } from '../../db/store.js';
import { badInput, notFound } from '../../domain/errors.js';
import type { HeldOutPredictions, ModelTypeId, RunStatus, TrainingProgressEvent } from '../../domain/run.js';
import { canUse, type Caller, type Owned } from '../owners.js';
import { readHeldOut, testPredictionsPage, type TestPredictionsPage } from './held-out.js';

export type TrainingRunRecord = TrainingRunRow;

export interface TrainingRunPage {
  runs: TrainingRunRecord[];
  hasNextPage: boolean;
  totalCount: number;
}

/** The few columns a prediction needs to know whether a run can predict. */
export interface RunState {
  id: string;
  status: RunStatus;
  modelType: ModelTypeId;
}

/** Runs of one page of a session's runs: the default and the most. */
export const DEFAULT_RUNS_PAGE = 20;
export const MAX_RUNS_PAGE = 100;

/** Run owners remembered (a run's session, so its owner, never changes). */
const OWNER_CACHE_ENTRIES = 10_000;

export class RunQueries {
  private readonly owners = new Map<string, Owned>();

  constructor(
    private readonly store: Store,
    /** The owner columns of a session (SessionService.ownerOf): a run inherits its session's. */
    private readonly sessionOwner: (sessionId: string) => Promise<Owned | null>,
  ) {}

  /** Whether the run exists and the caller may use its session (owners.ts `canUse`). */
  async visible(caller: Caller, runId: string): Promise<boolean> {
    let owner = this.owners.get(runId);
    if (!owner) {
      const run = await this.store.first('trainingRuns', {
        columns: ['sessionId'],
        where: eq(this.runsTable.id, runId),
      });
      const found = run ? await this.sessionOwner(run.sessionId) : null;
      if (!found) return false;
      if (this.owners.size >= OWNER_CACHE_ENTRIES) this.owners.clear();
      this.owners.set(runId, (owner = { ownerId: found.ownerId, sharedById: found.sharedById }));
    }
    return canUse(caller, owner);
  }

  /**
   * The one check of every read or write of a run for a caller (and of its progress, predictions and explanations):
   * NOT_FOUND when the run does not exist or is not the caller's to use, the same answer for both.
   */
  async requireVisible(caller: Caller, runId: string): Promise<void> {
    if (!(await this.visible(caller, runId))) throw notFound('Training run', runId);
  }

  /** The run when the caller may use it, else null (as for an id that does not exist). */
  async getFor(caller: Caller, runId: string): Promise<TrainingRunRecord | null> {
    return (await this.visible(caller, runId)) ? this.get(runId) : null;
  }

  async requireFor(caller: Caller, runId: string): Promise<TrainingRunRecord> {
    await this.requireVisible(caller, runId);
    return this.require(runId);
  }

  private get runsTable() {
    return this.store.t.trainingRuns;
  }

  private get eventsTable() {
    return this.store.t.progressEvents;
  }

  get(runId: string): Promise<TrainingRunRecord | null> {
    return this.store.first('trainingRuns', { where: eq(this.runsTable.id, runId) });
  }

  async require(runId: string): Promise<TrainingRunRecord> {
    const run = await this.get(runId);
    if (!run) throw notFound('Training run', runId);
    return run;
  }

  /** A run's id, status and model type: the whole record (metrics, curves, history as JSON) cost ~0.4 ms per `predict`. */
  state(runId: string): Promise<RunState | null> {
    return this.store.first('trainingRuns', {
      columns: ['id', 'status', 'modelType'],
      where: eq(this.runsTable.id, runId),
    });
  }

  /** The held-out test predictions a succeeded run stored (null: none, e.g. a run of an older version). */
  async heldOut(run: Pick<TrainingRunRecord, 'id' | 'metrics'>): Promise<HeldOutPredictions | null> {
    const classes = run.metrics?.classes;
    return classes ? readHeldOut(this.store, run.id, classes.length) : null;
  }

  /** One page of them (TrainingRun.testPredictions). */
  async testPredictions(
    run: Pick<TrainingRunRecord, 'id' | 'metrics'>,
    offset: number,
    limit: number,
  ): Promise<TestPredictionsPage | null> {
    const heldOut = await this.heldOut(run);
    return heldOut && run.metrics ? testPredictionsPage(heldOut, run.metrics.classes, offset, limit) : null;
  }

  /** Runs of a session, newest first; `after` is the id of the last run of the previous page. */
  async list(sessionId: string, first = DEFAULT_RUNS_PAGE, after?: string | null): Promise<TrainingRunPage> {
    const runs = this.runsTable;
    const limit = Math.min(Math.max(first, 1), MAX_RUNS_PAGE);
    let before: number | null = null;
    if (after) {
      const cursor = await this.get(after);
      if (cursor?.sessionId !== sessionId) throw badInput(`Unknown cursor "${after}" for this session.`, 'after');
      before = cursor.seq;
    }
    const where =
      before === null ? eq(runs.sessionId, sessionId) : and(eq(runs.sessionId, sessionId), lt(runs.seq, before));
    const rows = await this.store.select('trainingRuns', { where, orderBy: [desc(runs.seq)], limit: limit + 1 });
    const totalCount = await this.store.count('trainingRuns', eq(runs.sessionId, sessionId));
    return { runs: rows.slice(0, limit), hasNextPage: rows.length > limit, totalCount };
  }

  /** The newest run of a session that succeeded (the one REST /predict and /result use). */
  latestSucceeded(sessionId: string): Promise<TrainingRunRecord | null> {
    const runs = this.runsTable;
    return this.store.first('trainingRuns', {
      where: and(eq(runs.sessionId, sessionId), eq(runs.status, 'SUCCEEDED')),
      orderBy: [desc(runs.seq)],
    });
  }

  latest(sessionId: string): Promise<TrainingRunRecord | null> {
    const runs = this.runsTable;
    return this.store.first('trainingRuns', { where: eq(runs.sessionId, sessionId), orderBy: [desc(runs.seq)] });
  }

  /** The session's run that is waiting or training, if any (a new start would be a CONFLICT). */
  activeRun(sessionId: string): Promise<{ id: string; status: RunStatus } | null> {
    const runs = this.runsTable;
    return this.store.first('trainingRuns', {
      columns: ['id', 'status'],
      where: and(eq(runs.sessionId, sessionId), inArray(runs.status, ['QUEUED', 'RUNNING'])),
    });
  }

  /** Ids and statuses of every run of a session. */
  ofSession(sessionId: string): Promise<{ id: string; status: RunStatus }[]> {
    return this.store.select('trainingRuns', {
      columns: ['id', 'status'],
      where: eq(this.runsTable.sessionId, sessionId),
    });
  }

  /** Ids of the runs in a status, oldest first. */
  async idsWithStatus(status: RunStatus): Promise<string[]> {
    const runs = this.runsTable;
    const rows = await this.store.select('trainingRuns', {
      columns: ['id'],
      where: eq(runs.status, status),
      orderBy: [asc(runs.seq)],
    });
    return rows.map((row) => row.id);
  }

  /** The next run's place in the FIFO order of the database. */
  async nextSeq(): Promise<number> {
    return ((await this.store.max('trainingRuns', 'seq')) ?? 0) + 1;
  }

  /** Persisted progress events of a run, in order. */
  async events(runId: string): Promise<TrainingProgressEvent[]> {
    const events = this.eventsTable;
    const rows = await this.store.select('progressEvents', {
      where: eq(events.runId, runId),
      orderBy: [asc(events.seq)],
    });
    return rows.map((row) => ({ ...row, metrics: row.metrics ?? null, etaSeconds: null, queuePosition: null }));
  }

  /**
   * Stored progress events of a run with seq above `after` (and below `before` when given), in order, at most
   * 1,000: what a live subscriber missed (ProgressStream fills gaps with them).
   */
  async eventsAfter(runId: string, after: number, before?: number): Promise<TrainingProgressEvent[]> {
    const events = this.eventsTable;
    const rows = await this.store.select('progressEvents', {
      where: and(
        eq(events.runId, runId),
        gt(events.seq, after),
        before === undefined ? undefined : lt(events.seq, before),
      ),
      orderBy: [asc(events.seq)],
      limit: 1000,
    });
    return rows.map((row) => ({ ...row, metrics: row.metrics ?? null, etaSeconds: null, queuePosition: null }));
  }

  /** The run's newest stored progress event. */
  lastEvent(runId: string): Promise<ProgressEventRow | null> {
    const events = this.eventsTable;
    return this.store.first('progressEvents', { where: eq(events.runId, runId), orderBy: [desc(events.seq)] });
  }

  /** The seq of the run's newest stored progress event (0 before the first). */
  async lastEventSeq(runId: string): Promise<number> {
    return (await this.store.max('progressEvents', 'seq', eq(this.eventsTable.runId, runId))) ?? 0;
  }
}
