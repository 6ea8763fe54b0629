/**
 * Progress within a step (issue 12 item 7): a long epoch reports how far into it the model is (`partial`), so a
 * run's progress moves while its integer step does not. The share is `stepShare`; the recorder places it in the
 * TRAINING stage's range and stores the step as it is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { badInput, toWorkerError } from '../../src/domain/errors.js';
import { stepShare } from '../../src/ml/types.js';
import type { TrainTask, WorkerTask } from '../../src/ml/worker.js';
import { STAGE_START } from '../../src/services/training/progress.js';
import {
  createServicesUnderTest,
  readySession,
  SERVER,
  type Pool,
  type ServicesUnderTest,
} from './services-fixtures.js';

let services: ServicesUnderTest | null = null;
afterEach(async () => {
  await services?.close();
  services = null;
});

describe('stepShare', () => {
  it('counts the step under way by its partial: (step + partial) / totalSteps', () => {
    expect(stepShare({ step: 0, totalSteps: 4 })).toBe(0);
    expect(stepShare({ step: 0, totalSteps: 4, partial: 0.5 })).toBe(0.125);
    expect(stepShare({ step: 3, totalSteps: 4, partial: 0.5 })).toBe(0.875);
    expect(stepShare({ step: 4, totalSteps: 4 })).toBe(1);
  });

  it('keeps the share within 0..1 whatever it is sent', () => {
    expect(stepShare({ step: 1, totalSteps: 4, partial: 7 })).toBe(0.5);
    expect(stepShare({ step: 1, totalSteps: 4, partial: -1 })).toBe(0.25);
    expect(stepShare({ step: 1, totalSteps: 4, partial: Number.NaN })).toBe(0.25);
    expect(stepShare({ step: 9, totalSteps: 4, partial: 0.5 })).toBe(1);
    expect(stepShare({ step: 0, totalSteps: 0, partial: 0.5 })).toBe(0);
  });
});

describe('progress within a step', () => {
  it('moves the run within an epoch, with the stored step still the whole epochs done', async () => {
    const TRAINING_END = STAGE_START.EVALUATING;
    const steps = [
      { step: 0, totalSteps: 2, partial: 0.25, message: 'Epoch 1 of 2: batch 1 of 4' },
      { step: 0, totalSteps: 2, partial: 0.5, message: 'Epoch 1 of 2: batch 2 of 4' },
      { step: 1, totalSteps: 2, loss: 0.5 },
      { step: 1, totalSteps: 2, partial: 0.5, message: 'Epoch 2 of 2: batch 2 of 4' },
    ];
    const pool: Pool = {
      run: async (task: WorkerTask) => {
        const { port } = task as TrainTask;
        port.postMessage({ type: 'stage', stage: 'TRAINING', message: 'Training' });
        for (const progress of steps) {
          port.postMessage({ type: 'step', progress });
          // Each share starts another tenth of the fit, so each message is an event at once (no throttle).
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        throw toWorkerError(badInput('stop here: the steps are what this test reads'));
      },
    };
    services = createServicesUnderTest({ manualQueue: true, pool });
    const s = services;
    const run = await s.training.commands.start(SERVER, await readySession(s));
    if (!s.queue) throw new Error('this test needs the manual queue');
    await s.queue.runNext();

    // A heartbeat (a loaded machine's pause) repeats the last event: the steps are the distinct ones.
    const events = (await s.training.runs.events(run.id)).filter(
      (e, i, all) =>
        e.status === 'RUNNING' &&
        e.stage === 'TRAINING' &&
        e.totalSteps === 2 &&
        !(i > 0 && all[i - 1].progress === e.progress && all[i - 1].message === e.message),
    );
    expect(events.map((e) => e.step)).toEqual([0, 0, 1, 1]);
    const expected = [0.125, 0.25, 0.5, 0.75].map(
      (share) => STAGE_START.TRAINING + share * (TRAINING_END - STAGE_START.TRAINING),
    );
    events.forEach((event, i) => {
      expect(event.progress).toBeCloseTo(expected[i], 10);
    });
    expect(events.map((e) => e.message)).toEqual([
      'Epoch 1 of 2: batch 1 of 4',
      'Epoch 1 of 2: batch 2 of 4',
      'Step 1 of 2',
      'Epoch 2 of 2: batch 2 of 4',
    ]);
  });
});
