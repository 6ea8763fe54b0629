/**
 * Issue 12 item 8: one graphql-ws socket sends 10,000 `subscribe` frames at once (a long-lived `heartbeat` and a
 * `{ health }` query, alternating). Prints the server process's event-loop delay (monitorEventLoopDelay) while the
 * flood is handled, how the socket ended (close code) and how many operations were answered.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { buildBenchApp } from './bench-server.js';

const FRAMES = 10_000;

async function flood(wsUrl: string): Promise<{ code: number; answered: number; ms: number }> {
  const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await new Promise<void>((resolve) => {
    ws.once('message', () => {
      resolve();
    });
  });
  let answered = 0;
  ws.on('message', () => answered++);
  const started = performance.now();
  for (let i = 0; i < FRAMES; i++) {
    const query = i % 2 === 0 ? 'subscription { heartbeat(count: 100, intervalMs: 60000) }' : '{ health { status } }';
    ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query } }));
  }
  const code = await new Promise<number>((resolve) => {
    ws.once('close', (closeCode) => {
      resolve(closeCode);
    });
    // No close within 3 s: the server kept the socket; end it from here.
    setTimeout(() => {
      ws.close(1000);
    }, 3000);
  });
  return { code, answered, ms: Math.round(performance.now() - started) };
}

const { app } = await buildBenchApp('ws-flood');
const { port } = await app.start();
for (let round = 1; round <= 2; round++) {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const { code, answered, ms } = await flood(`ws://127.0.0.1:${port}/graphql`);
  histogram.disable();
  const max = Math.round(histogram.max / 1e6);
  const p99 = Math.round(histogram.percentile(99) / 1e6);
  console.log(
    `round ${round}: ${FRAMES} subscribe frames on one socket → close ${code}, ${answered} messages answered in ${ms} ms; event-loop delay max ${max} ms, p99 ${p99} ms`,
  );
}
await app.stop();
