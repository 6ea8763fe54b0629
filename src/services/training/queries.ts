/**
 * Reads of training runs and their stored progress events: the one place that queries `training_runs` and
 * `progress_events` (the training commands and progress write them).
 */
import { and, asc, desc, eq, inArray, lt, max, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { progressEvents, trainingRuns, type ProgressEventRow, type TrainingRunRow } from '../../db/schema.js';
import { badInput, notFound } from '../../domain/errors.js';
import type { ModelTypeId, RunStatus, TrainingProgressEvent } from '../../domain/run.js';

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

export class RunQueries {
  private readonly stateStatement;

  constructor(private readonly db: Db) {
    this.stateStatement = db
      .select({ id: trainingRuns.id, status: trainingRuns.status, modelType: trainingRuns.modelType })
      .from(trainingRuns)
      .where(eq(trainingRuns.id, sql.placeholder('id')))
      .prepare();
  }

  get(runId: string): TrainingRunRecord | null {
    return this.db.select().from(trainingRuns).where(eq(trainingRuns.id, runId)).get() ?? null;
  }

  require(runId: string): TrainingRunRecord {
    const run = this.get(runId);
    if (!run) throw notFound('Training run', runId);
    return run;
  }

  /**
   * A run's id, status and model type through one prepared statement: the whole record (metrics, curves, history
   * as JSON) cost ~0.4 ms per `predict`.
   */
  state(runId: string): RunState | null {
    return this.stateStatement.get({ id: runId }) ?? null;
  }

  /** Runs of a session, newest first; `after` is the id of the last run of the previous page. */
  list(sessionId: string, first = 20, after?: string | null): TrainingRunPage {
    const limit = Math.min(Math.max(first, 1), 100);
    let before: number | null = null;
    if (after) {
      const cursor = this.get(after);
      if (cursor?.sessionId !== sessionId) throw badInput(`Unknown cursor "${after}" for this session.`, 'after');
      before = cursor.seq;
    }
    const where =
      before === null
        ? eq(trainingRuns.sessionId, sessionId)
        : and(eq(trainingRuns.sessionId, sessionId), lt(trainingRuns.seq, before));
    const rows = this.db
      .select()
      .from(trainingRuns)
      .where(where)
      .orderBy(desc(trainingRuns.seq))
      .limit(limit + 1)
      .all();
    const total = this.db
      .select({ n: sql<number>`count(*)` })
      .from(trainingRuns)
      .where(eq(trainingRuns.sessionId, sessionId))
      .get();
    return { runs: rows.slice(0, limit), hasNextPage: rows.length > limit, totalCount: total?.n ?? 0 };
  }

  /** The newest run of a session that succeeded (the one REST /predict and /result use). */
  latestSucceeded(sessionId: string): TrainingRunRecord | null {
    return (
      this.db
        .select()
        .from(trainingRuns)
        .where(and(eq(trainingRuns.sessionId, sessionId), eq(trainingRuns.status, 'SUCCEEDED')))
        .orderBy(desc(trainingRuns.seq))
        .limit(1)
        .get() ?? null
    );
  }

  latest(sessionId: string): TrainingRunRecord | null {
    return (
      this.db
        .select()
        .from(trainingRuns)
        .where(eq(trainingRuns.sessionId, sessionId))
        .orderBy(desc(trainingRuns.seq))
        .limit(1)
        .get() ?? null
    );
  }

  /** The session's run that is waiting or training, if any (a new start would be a CONFLICT). */
  activeRun(sessionId: string): { id: string; status: RunStatus } | null {
    return (
      this.db
        .select({ id: trainingRuns.id, status: trainingRuns.status })
        .from(trainingRuns)
        .where(and(eq(trainingRuns.sessionId, sessionId), inArray(trainingRuns.status, ['QUEUED', 'RUNNING'])))
        .get() ?? null
    );
  }

  /** Ids and statuses of every run of a session. */
  ofSession(sessionId: string): { id: string; status: RunStatus }[] {
    return this.db
      .select({ id: trainingRuns.id, status: trainingRuns.status })
      .from(trainingRuns)
      .where(eq(trainingRuns.sessionId, sessionId))
      .all();
  }

  /** Ids of the runs in a status, oldest first. */
  idsWithStatus(status: RunStatus): string[] {
    return this.db
      .select({ id: trainingRuns.id })
      .from(trainingRuns)
      .where(eq(trainingRuns.status, status))
      .orderBy(asc(trainingRuns.seq))
      .all()
      .map((row) => row.id);
  }

  /** The next run's place in the FIFO order of the database. */
  nextSeq(): number {
    const row = this.db
      .select({ value: max(trainingRuns.seq) })
      .from(trainingRuns)
      .get();
    return (row?.value ?? 0) + 1;
  }

  /** Persisted progress events of a run, in order. */
  events(runId: string): TrainingProgressEvent[] {
    return this.db
      .select()
      .from(progressEvents)
      .where(eq(progressEvents.runId, runId))
      .orderBy(asc(progressEvents.seq))
      .all()
      .map((row) => ({ ...row, metrics: row.metrics ?? null, etaSeconds: null, queuePosition: null }));
  }

  /** The run's newest stored progress event. */
  lastEvent(runId: string): ProgressEventRow | null {
    return (
      this.db
        .select()
        .from(progressEvents)
        .where(eq(progressEvents.runId, runId))
        .orderBy(desc(progressEvents.seq))
        .limit(1)
        .get() ?? null
    );
  }

  /** The seq of the run's newest stored progress event (0 before the first). */
  lastEventSeq(runId: string): number {
    const row = this.db
      .select({ seq: max(progressEvents.seq) })
      .from(progressEvents)
      .where(eq(progressEvents.runId, runId))
      .get();
    return row?.seq ?? 0;
  }
}
