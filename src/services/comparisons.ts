/**
 * compareRuns: runs evaluated on the same held-out test rows, side by side against the first one, with paired
 * bootstrap intervals of the differences and McNemar's test (src/ml/selection/compare.ts). The resampling runs in the
 * inference worker (2,000 resamples of every metric of two runs take a few hundred milliseconds of CPU).
 */
import type { Piscina } from 'piscina';
import { badInput, conflict } from '../domain/errors.js';
import type { HeldOutPredictions } from '../domain/run.js';
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

/** The run's stored held-out predictions, checked (stored JSON is not trusted), as the comparison reads them. */
export function evaluatedRows(run: TrainingRunRecord): EvaluatedRows {
  if (run.status !== 'SUCCEEDED')
    throw conflict(`Training run ${run.id} is ${run.status}; only SUCCEEDED runs can be compared.`);
  const classes = run.metrics?.classes;
  const heldOut: HeldOutPredictions | undefined = run.details?.heldOut;
  if (!classes || !heldOut || !validHeldOut(heldOut, classes.length))
    throw conflict(
      `Training run ${run.id} has no stored held-out predictions (it was trained before they were stored); train it again to compare it.`,
    );
  return {
    name: run.id,
    rowIds: heldOut.rowIds,
    labels: Int32Array.from(heldOut.labels),
    // A tuned run is compared on its tuned decision (what its metrics scored).
    proba: applyClassScales(Float64Array.from(heldOut.proba), heldOut.classScales),
    classes,
  };
}

function validHeldOut(h: HeldOutPredictions, classes: number): boolean {
  const n = Array.isArray(h.rowIds) ? h.rowIds.length : -1;
  return (
    n > 0 &&
    h.rowIds.every((id) => typeof id === 'string') &&
    Array.isArray(h.labels) &&
    h.labels.length === n &&
    h.labels.every((y) => Number.isInteger(y) && y >= 0 && y < classes) &&
    Array.isArray(h.proba) &&
    h.proba.length === n * classes &&
    h.proba.every((p) => typeof p === 'number') &&
    (h.groups === null || (Array.isArray(h.groups) && h.groups.length === n)) &&
    (h.classScales === undefined ||
      (Array.isArray(h.classScales) &&
        h.classScales.length === classes &&
        h.classScales.every((s) => typeof s === 'number' && s > 0)))
  );
}

export class ComparisonService {
  constructor(
    private readonly runs: Pick<RunQueries, 'requireFor'>,
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
    const [base, ...others] = runs.map(evaluatedRows);
    // Refused before any work, with the reason (different split, seed, task or data).
    for (const other of others) {
      const reason = differentRowsReason(base, other);
      if (reason !== null) throw badInput(reason, 'runIds');
    }
    const groups = runs[0].details?.heldOut?.groups ?? null;
    const task: CompareTask = { kind: 'compareRuns', base, others, options: { resamples, seed, groups } };
    const pairs = (await this.pool.run(task)) as RunComparison[];
    return { baseRunId: base.name, runIds: ids, rows: base.rowIds.length, resamples, seed, pairs };
  }
}
