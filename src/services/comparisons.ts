/**
 * compareRuns: runs evaluated on the same held-out test rows, side by side against the first one, with paired
 * bootstrap intervals of the differences and McNemar's test (src/ml/selection/compare.ts). The resampling runs in the
 * inference worker (2,000 resamples of every metric of two runs take a few hundred milliseconds of CPU).
 */
import type { Piscina } from 'piscina';
import { badInput, conflict } from '../domain/errors.js';
import { applyClassScales } from '../ml/selection/decision-tuning.js';
import { differentRowsReason, type EvaluatedRows, type RunComparison } from '../ml/selection/compare.js';
import type { CompareTask } from '../ml/worker.js';
import type { Caller } from './owners.js';
import type { RunQueries, TrainingRunRecord } from './training/index.js';

export const MAX_COMPARED_RUNS = 10;
export const MIN_RESAMPLES = 100;
export const MAX_RESAMPLES = 10_000;

export interface RunsComparison {
  baseRunId: string;
  runIds: string[];
  rows: number;
  resamples: number;
  seed: number;
  /** Each other run against the first. */
  pairs: RunComparison[];
}

/**
 * What a comparison reads of a run: its held-out predictions (stored apart, checked when read: held-out.ts), with a
 * tuned run's probabilities scaled as its metrics scored them.
 */
export async function evaluatedRows(
  runs: Pick<RunQueries, 'heldOut'>,
  run: TrainingRunRecord,
): Promise<EvaluatedRows & { groups: string[] | null }> {
  if (run.status !== 'SUCCEEDED')
    throw conflict(`Training run ${run.id} is ${run.status}; only SUCCEEDED runs can be compared.`);
  const classes = run.metrics?.classes;
  const heldOut = await runs.heldOut(run);
  if (!classes || !heldOut || heldOut.rowIds.length === 0)
    throw conflict(
      `Training run ${run.id} has no stored held-out predictions (it was trained before they were stored); train it again to compare it.`,
    );
  return {
    name: run.id,
    rowIds: heldOut.rowIds,
    labels: Int32Array.from(heldOut.labels),
    // A tuned run is compared on its tuned decision (what its metrics scored).
    proba: applyClassScales(heldOut.proba, heldOut.classScales),
    classes,
    groups: heldOut.groups,
  };
}

export class ComparisonService {
  constructor(
    private readonly runs: Pick<RunQueries, 'requireFor' | 'heldOut'>,
    private readonly pool: Pick<Piscina, 'run'>,
  ) {}

  async compare(caller: Caller, runIds: readonly string[], resamples = 2000, seed = 42): Promise<RunsComparison> {
    const ids = [...new Set(runIds)];
    if (ids.length < 2 || ids.length > MAX_COMPARED_RUNS)
      throw badInput(
        `Give 2 to ${MAX_COMPARED_RUNS} different run ids (got ${ids.length}); each is compared with the first.`,
        'runIds',
      );
    if (!Number.isInteger(resamples) || resamples < MIN_RESAMPLES || resamples > MAX_RESAMPLES)
      throw badInput(
        `resamples must be a whole number from ${MIN_RESAMPLES} to ${MAX_RESAMPLES.toLocaleString('en-US')}, got ${resamples}.`,
        'resamples',
      );
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw badInput(`seed must be a whole number ≥ 0, got ${seed}.`, 'seed');
    const runs = await Promise.all(ids.map((id) => this.runs.requireFor(caller, id)));
    const [base, ...others] = await Promise.all(runs.map((run) => evaluatedRows(this.runs, run)));
    // Refused before any work, with the reason (different split, seed, task or data).
    for (const other of others) {
      const reason = differentRowsReason(base, other);
      if (reason !== null) throw badInput(reason, 'runIds');
    }
    const task: CompareTask = { kind: 'compareRuns', base, others, options: { resamples, seed, groups: base.groups } };
    const pairs = (await this.pool.run(task)) as RunComparison[];
    return { baseRunId: base.name, runIds: ids, rows: base.rowIds.length, resamples, seed, pairs };
  }
}
