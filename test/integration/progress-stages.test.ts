/**
 * Progress after fitting (issue 9, item 5): a real server, the real Kepler table and the official graphql-ws client.
 * Every stage after fitting reports steps of its own, the stage sequence is complete, and the run stores how its
 * permutation importance was computed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_KEPLER, collect, startRun, startServer, type TestServer } from './harness.js';
import { defined } from '../fixtures/defined.js';

interface Progress {
  seq: number;
  status: string;
  stage: string;
  progress: number;
  step: number;
  totalSteps: number;
  etaSeconds: number | null;
  message: string | null;
}

const PROGRESS =
  'subscription ($r: ID!) { trainingProgress(runId: $r) { seq status stage progress step totalSteps etaSeconds message } }';
const RUN = `query ($r: ID!) { trainingRun(id: $r) {
  status splitCounts { test }
  timings { explainSeconds permutationSeconds startSeconds loadSeconds preprocessSeconds fitSeconds evaluateSeconds
    packSeconds handOffSeconds saveModelSeconds saveTestPredictionsSeconds totalSeconds }
  explanation { permutation { method description metric rowsPerRepeat rowsTotal sampling repeats seed maxCi95 seconds } }
  featureImportance { feature permutationMean permutationCi95 }
  events { stage step totalSteps }
} }`;

interface RunView {
  status: string;
  splitCounts: { test: number };
  timings: { explainSeconds: number; permutationSeconds: number | null } & Record<
    | 'startSeconds'
    | 'loadSeconds'
    | 'preprocessSeconds'
    | 'fitSeconds'
    | 'evaluateSeconds'
    | 'packSeconds'
    | 'handOffSeconds'
    | 'saveModelSeconds'
    | 'saveTestPredictionsSeconds'
    | 'totalSeconds',
    number | null
  >;
  explanation: {
    permutation: {
      method: string;
      description: string;
      metric: string;
      rowsPerRepeat: number;
      rowsTotal: number;
      sampling: string;
      repeats: number;
      seed: number;
      maxCi95: number | null;
      seconds: number;
    };
  } | null;
  featureImportance: { feature: string; permutationMean: number; permutationCi95: number | null }[];
  events: { stage: string; step: number; totalSteps: number }[];
}

const POST_FIT = ['EVALUATING', 'EXPLAINING', 'SAVING'];

/** Consecutive duplicates removed. */
function stageSequence(events: Progress[]): string[] {
  return events.map((e) => e.stage).filter((stage, i, all) => i === 0 || all[i - 1] !== stage);
}

function expectStepsOfStage(events: Progress[], stage: string): void {
  const ofStage = events.filter((e) => e.stage === stage && e.status === 'RUNNING');
  const steps = ofStage.filter((e) => e.step > 0);
  expect(steps.length, `step events while ${stage}`).toBeGreaterThan(0);
  // Steps never go back (a heartbeat repeats the last one), and the stage ends on its last step.
  for (let i = 1; i < steps.length; i++) expect(steps[i].step).toBeGreaterThanOrEqual(steps[i - 1].step);
  const last = defined(steps.at(-1), 'the last step');
  expect(last.step).toBe(last.totalSteps);
  expect(steps.every((e) => e.totalSteps === last.totalSteps)).toBe(true);
}

describe.skipIf(!HAS_KEPLER)('progress through every stage after fitting', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { TRAINING_CONCURRENCY: '1' } });
  });
  afterAll(() => server.stop());

  it('a random forest reports LOADING → … → SAVING → DONE, with increasing steps while evaluating, explaining and saving', async () => {
    const { runId } = await startRun(server, {
      datasetId: 'kepler',
      modelType: 'random_forest',
      hyperparameters: { n_estimators: 60 },
    });
    const { events: received, error } = await collect<{ trainingProgress: Progress }>(server.wsClient(), PROGRESS, {
      r: runId,
    });
    expect(error).toBeUndefined();
    const events = received.map((e) => e.trainingProgress);
    const sequence = stageSequence(events);
    expect(sequence[0] === 'QUEUED' ? sequence.slice(1) : sequence).toEqual([
      'LOADING',
      'PREPROCESSING',
      'TRAINING',
      'EVALUATING',
      'EXPLAINING',
      'SAVING',
      'DONE',
    ]);
    for (const stage of POST_FIT) expectStepsOfStage(events, stage);
    // Permutation importance of a forest steps per tree.
    const explaining = events.filter((e) => e.stage === 'EXPLAINING' && e.step > 0);
    expect(explaining.at(-1)?.totalSteps).toBe(61);
    expect(new Set(explaining.map((e) => e.step)).size).toBeGreaterThan(1);
    expect(events.some((e) => POST_FIT.includes(e.stage) && e.etaSeconds !== null && e.etaSeconds >= 0)).toBe(true);
    // Progress only moves forward over the whole run; DONE reports the fit's trees.
    for (let i = 1; i < events.length; i++) expect(events[i].progress).toBeGreaterThanOrEqual(events[i - 1].progress);
    expect(events.at(-1)).toMatchObject({ status: 'SUCCEEDED', stage: 'DONE', step: 60, totalSteps: 60, progress: 1 });
    events.forEach((e, i) => {
      if (i > 0) expect(e.seq).toBe(events[i - 1].seq + 1);
    });

    const { trainingRun: run } = await server.data<{ trainingRun: RunView }>(RUN, { r: runId });
    expect(run.status).toBe('SUCCEEDED');
    // The run says what its permutation importance is: sized to the fit (a forest scores 2.5 % of its training rows
    // per repeat, at least 400), its error stated.
    expect(run.explanation?.permutation).toMatchObject({
      method: 'FOREST_EXACT',
      metric: 'macro-F1',
      sampling: 'SAMPLE_PER_REPEAT',
      repeats: 5,
      seed: 42,
      rowsTotal: run.splitCounts.test,
      rowsPerRepeat: 400,
    });
    expect(run.explanation?.permutation.description).toContain(`400 of the ${run.splitCounts.test} test rows`);
    expect(run.explanation?.permutation.description).toContain('includes the row sampling (at most ±');
    expect(run.timings.permutationSeconds).toBeGreaterThan(0);
    expect(run.timings.permutationSeconds).toBeLessThanOrEqual(run.timings.explainSeconds);
    expect(run.featureImportance.every((f) => f.permutationCi95 !== null && f.permutationCi95 >= 0)).toBe(true);
    // The persisted events tell the same story.
    expect(run.events.some((e) => e.stage === 'EXPLAINING' && e.step > 0)).toBe(true);
  });

  it('a linear model permutes feature by feature, moving its scores, and says so', async () => {
    const { runId } = await startRun(server, { datasetId: 'kepler', modelType: 'logistic_regression' });
    const { events: received, error } = await collect<{ trainingProgress: Progress }>(server.wsClient(), PROGRESS, {
      r: runId,
    });
    expect(error).toBeUndefined();
    const events = received.map((e) => e.trainingProgress);
    expect(stageSequence(events)).toContain('EXPLAINING');
    expectStepsOfStage(events, 'EXPLAINING');
    const { trainingRun: run } = await server.data<{ trainingRun: RunView }>(RUN, { r: runId });
    const features = run.featureImportance.length;
    expect(events.filter((e) => e.stage === 'EXPLAINING' && e.step > 0).at(-1)?.totalSteps).toBe(features + 1);
    expect(run.explanation?.permutation).toMatchObject({
      // Its shuffled copies' scores are moved, not predicted: every test row, whatever the table's size.
      method: 'LINEAR_EXACT',
      sampling: 'ALL',
      repeats: 5,
      rowsPerRepeat: run.splitCounts.test,
    });
    // The interval over the shuffles is stated for every model now.
    expect(run.explanation?.permutation.maxCi95).toBeGreaterThanOrEqual(0);
    expect(run.featureImportance.every((f) => f.permutationCi95 !== null && f.permutationCi95 >= 0)).toBe(true);
    // The run's time itemised: thread start before the fit; packing, hand-off and both stores after it; the parts
    // fit inside the total (one clock in the thread, another in the server: a few ms of slack).
    const t = run.timings;
    const parts = [
      t.startSeconds,
      t.loadSeconds,
      t.preprocessSeconds,
      t.fitSeconds,
      t.evaluateSeconds,
      t.explainSeconds,
      t.packSeconds,
      t.handOffSeconds,
      t.saveModelSeconds,
      t.saveTestPredictionsSeconds,
    ];
    for (const part of parts) expect(part).toBeGreaterThanOrEqual(0);
    const sum = parts.reduce<number>((total, part) => total + (part ?? 0), 0);
    expect(sum).toBeLessThanOrEqual((t.totalSeconds ?? 0) + 0.01);
  });
});
