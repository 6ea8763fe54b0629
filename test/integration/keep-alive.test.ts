/**
 * Issue 17 item 1 (bench:scale's second upload failed with ECONNRESET): a keep-alive connection whose idle timeout
 * fires late, because the event loop was blocked past it (bench:scale runs its Python reference synchronously in the
 * server's process), must not be closed under a request the client sent meanwhile. Before the fix the server closed
 * such sockets in the timers phase, before reading what had arrived, and fetch failed ("other side closed" or
 * ECONNRESET).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './harness.js';

/** Node's keep-alive timeout (5 s) plus the 1 s it adds before closing, and a margin. */
const BLOCK_MS = 7_500;
/** Connections kept alive at once: each is one chance for the race. */
const CONNECTIONS = 6;

describe('keep-alive connections after a blocked event loop', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('requests sent on idle kept-alive connections after a long block are answered', async () => {
    const health = () => server.data<{ health: { status: string } }>('{ health { status } }');
    // Several pooled connections, idle and kept alive.
    await Promise.all(Array.from({ length: CONNECTIONS }, health));
    const until = Date.now() + BLOCK_MS;
    while (Date.now() < until) {
      // Blocks this process (client and server) past the keep-alive timeout, as a synchronous child process does.
    }
    const answers = await Promise.allSettled(Array.from({ length: CONNECTIONS }, health));
    const failed = answers.filter((a) => a.status === 'rejected').map((a) => String(a.reason));
    expect(failed).toEqual([]);
    expect(answers).toHaveLength(CONNECTIONS);
  });
});
