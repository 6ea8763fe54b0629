/**
 * The training service's heartbeat (issue 9, item 5): while a worker is silent (a long load, a stage without steps),
 * a running run still gets an event about every second, repeating its state. The pool is the real worker function
 * run in-process behind a stand-in that first keeps quiet for 2.5 s; everything else is the real service.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Piscina } from 'piscina';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { createLogger } from '../../src/logger.js';
import runTask, { type TrainTask, type WorkerTask } from '../../src/ml/worker.js';
import { DatasetService } from '../../src/services/datasets.js';
import { ModelStore } from '../../src/services/models.js';
import { createInMemoryProgressBus, type TrainingProgressEvent } from '../../src/services/progress-bus.js';
import { SessionService } from '../../src/services/sessions.js';
import { Caller, OwnerService } from '../../src/services/owners.js';

const SERVER = Caller.server();
import { createTraining } from '../../src/services/training/index.js';

const SILENCE_MS = 2500;

describe('training heartbeat', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exoplanet-heartbeat-'));
  const config = loadConfig(
    { NODE_ENV: 'test', DATABASE_PATH: path.join(dir, 'test.db'), UPLOAD_DIR: path.join(dir, 'uploads') },
    dir,
  );
  const logger = createLogger('silent');
  const handle = openDatabase(config.databasePath);
  const owners = new OwnerService(randomBytes(32), config);
  const datasets = new DatasetService(handle.store, config, logger, owners);
  const sessions = new SessionService(handle.store, datasets, owners, { maxTrainingMs: config.maxTrainingMs });
  const bus = createInMemoryProgressBus();
  let silentFrom = 0;
  let silentUntil = 0;
  const pool = {
    run: async (task: WorkerTask) => {
      const { port } = task as TrainTask;
      port.postMessage({ type: 'stage', stage: 'LOADING', message: 'Loading the dataset (slowly)' });
      silentFrom = Date.now();
      await new Promise((resolve) => setTimeout(resolve, SILENCE_MS));
      silentUntil = Date.now();
      return runTask(task);
    },
  } as unknown as Piscina;
  const training = createTraining({
    store: handle.store,
    sessions,
    datasets,
    owners,
    models: new ModelStore(handle.store, { cacheBytes: 1e6 }),
    bus,
    pool,
    logger,
    concurrency: 1,
    threads: 1,
    maxTrainingMs: 60_000,
  });
  afterAll(async () => {
    await training.close();
    handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends an event about every second while the worker says nothing, then carries on', async () => {
    const rows = Array.from(
      { length: 120 },
      (_, i) => `${(i % 2) * 5 + (i % 7) / 7},${i % 11},${i % 2 ? 'yes' : 'no'}`,
    );
    const dataset = await datasets.upload(SERVER, {
      file: new File([`a,b,label\n${rows.join('\n')}\n`], 'heartbeat.csv'),
      labelColumn: 'label',
    });
    const session = await sessions.create(SERVER);
    await sessions.configure(SERVER, { sessionId: session.id, datasetId: dataset.id, modelType: 'decision_tree' });
    const run = await training.commands.start(SERVER, session.id);
    const events: { at: number; event: TrainingProgressEvent }[] = [];
    for await (const event of await training.progress.subscribe(SERVER, run.id)) events.push({ at: Date.now(), event });

    expect(events.at(-1)?.event.status).toBe('SUCCEEDED');
    const quiet = events.filter((e) => e.at > silentFrom && e.at <= silentUntil);
    // 2.5 s of silence from the worker (after its LOADING stage event): heartbeats after 0.75 s of quiet, checked
    // every 0.25 s ⇒ at least two more events in the window.
    expect(quiet.filter((e) => e.at - silentFrom > 500).length).toBeGreaterThanOrEqual(2);
    for (const { event } of quiet)
      expect(event).toMatchObject({ status: 'RUNNING', stage: 'LOADING', message: 'Loading the dataset (slowly)' });
    const times = [silentFrom, ...quiet.map((e) => e.at)];
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeLessThan(1500);
    // Heartbeats are ordinary events: seq goes on by one.
    for (let i = 1; i < events.length; i++) expect(events[i].event.seq).toBe(events[i - 1].event.seq + 1);
  });
});
