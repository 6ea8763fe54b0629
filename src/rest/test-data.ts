/**
 * The session's test data predicted and explained by a trained run: what GET /result and the final API's result
 * routes list. Shared by the original and the final API.
 */
import { AppError, notFound } from '../domain/errors.js';
import type { RouteContext } from './context.js';
import {
  ExplainRowQuery,
  LatestSuccessfulRunIdQuery,
  PredictChunkQuery,
  TestDataQuery,
  type RowExplanationState,
  type RowPredictionState,
  type TestRowState,
} from './operations/index.js';

const noTrainedModel = () =>
  new AppError('CONFLICT', 'This session has no trained model yet: POST /training first and wait until it succeeds.');

export async function latestSuccessfulRunId(ctx: RouteContext, sessionId: string): Promise<string> {
  const { session } = await ctx.execute(LatestSuccessfulRunIdQuery, { id: sessionId });
  if (!session) throw notFound('Session', sessionId);
  if (!session.latestSuccessfulRun) throw noTrainedModel();
  return session.latestSuccessfulRun.id;
}

/** GraphQL `predict` takes at most this many rows per call (MAX_PREDICT_ROWS). */
const PREDICT_CHUNK = 1000;
const TEST_ROWS_MAX = 10_000;
/** Rows explained at a time: as many as one aliased request explained before (within the alias limit of 30). */
const EXPLAIN_BATCH = 25;

export interface PredictedTestData {
  testData: { kind: 'DATASET' | 'HELD_OUT'; datasetId: string; rowCount: number };
  /** Every test row (up to 10,000) with its prediction, in order. */
  rows: TestRowState[];
  predicted: RowPredictionState[];
  /** The first rows, each with its own explanation. */
  explained: RowExplanationState[];
}

/**
 * The session's test data (its configured dataset, default the held-out test split) predicted by `runId`: every
 * row predicted (in chunks the predict operation accepts), the first `explain` rows explained.
 */
export async function predictTestData(
  ctx: RouteContext,
  sessionId: string,
  runId: string,
  explain: number,
): Promise<PredictedTestData> {
  const { session } = await ctx.execute(TestDataQuery, { id: sessionId, max: TEST_ROWS_MAX, run: runId });
  if (!session) throw notFound('Session', sessionId);
  const testData = session.testData;
  if (!testData) throw noTrainedModel();
  const rows = testData.rows;
  const chunks: unknown[][] = [];
  for (let start = 0; start < rows.length; start += PREDICT_CHUNK)
    chunks.push(rows.slice(start, start + PREDICT_CHUNK).map((r) => r.values));
  // Chunks run together, as the fields of one request did.
  const answers = await Promise.all(chunks.map((chunk) => ctx.execute(PredictChunkQuery, { run: runId, rows: chunk })));
  const predicted = answers.flatMap((answer) => answer.predict);
  const explained: RowExplanationState[] = [];
  const listed = rows.slice(0, explain);
  for (let start = 0; start < listed.length; start += EXPLAIN_BATCH) {
    const batch = listed.slice(start, start + EXPLAIN_BATCH);
    const answered = await Promise.all(
      batch.map((row) => ctx.execute(ExplainRowQuery, { run: runId, row: row.values })),
    );
    explained.push(...answered.map((answer) => answer.explain));
  }
  return {
    testData: { kind: testData.kind, datasetId: testData.datasetId, rowCount: testData.rowCount },
    rows,
    predicted,
    explained,
  };
}
