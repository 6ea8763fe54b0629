/**
 * `npm run bench:sqlite-write`: how long a large SQLite write holds the event loop (issues 16 and 17, goal 2). An
 * upload's row and gzipped bytes (BENCH_MB, default 8 and 24 MB: an 8 MB upload copy, a 1,000-tree forest) are stored
 * through the store, three times each, as the server does (the writer thread, src/db/sqlite-writer.ts) beside the
 * reference of the same run: the same store writing on the main connection with SQLite's auto-checkpoint, as before.
 * Each write's figure is the longest gap between 1 ms ticks of this thread while the write is awaited; the same
 * ticks' longest gap over an idle 300 ms is printed as the machine's noise. What the writer thread's way still costs
 * the event loop is the copy of the blob into the message (structured clone): one pass over its bytes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/db/client.js';
import { SqliteStore } from '../src/db/store-sqlite.js';
import type { Store } from '../src/db/store.js';

const SIZES_MB = (process.env.BENCH_MB ?? '8,24').split(',').map(Number);
const REPEATS = 3;

/** Longest gap between 1 ms ticks while `work` runs, and how long it took, ms. */
async function longestGap(work: () => Promise<unknown>): Promise<{ gap: number; ms: number }> {
  let last = performance.now();
  let gap = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  // A synchronous write resolves before any tick: the tick after it measures the gap.
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(tick);
  return { gap, ms };
}

async function writes(store: Store, megabytes: number): Promise<string> {
  const figures: string[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const id = `d${megabytes}-${i}`;
    const bytes = randomBytes(megabytes * 2 ** 20);
    const createdAt = new Date();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { gap, ms } = await longestGap(() =>
      store.insertAll([
        {
          table: 'datasets',
          values: {
            id,
            name: id,
            fileName: id,
            labelColumn: 'label',
            rowCount: 1,
            sizeBytes: 1,
            checksum: 'c',
            createdAt,
          },
        },
        { table: 'datasetFiles', values: { datasetId: id, bytes, sizeBytes: 1, checksum: 'c', createdAt } },
      ]),
    );
    figures.push(`${gap.toFixed(0)} (write ${ms.toFixed(0)})`);
  }
  return figures.join(', ');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sqlite-write-'));
try {
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `idle: longest gap over 300 ms ${(await longestGap(() => new Promise((r) => setTimeout(r, 300)))).gap.toFixed(0)} ms`,
  );
  for (const megabytes of SIZES_MB) {
    for (const way of ['writer thread', 'main connection (reference)'] as const) {
      // A fresh database file for each, as a server's first big write meets one.
      const handle = openDatabase(path.join(dir, `${way.split(' ')[0]}-${megabytes}.db`));
      let store: Store = handle.store;
      if (way !== 'writer thread') {
        handle.sqlite.pragma('wal_autocheckpoint = 1000');
        store = new SqliteStore(handle.db, handle.sqlite);
      }
      // The writer thread starts (and loads its modules) in the background of the first write otherwise.
      await new Promise((resolve) => setTimeout(resolve, 500));
      console.log(`${megabytes} MB, ${way}: longest event-loop gap per write, ms: ${await writes(store, megabytes)}`);
      handle.close();
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
