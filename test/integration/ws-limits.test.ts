/**
 * One client must not freeze the server over WebSocket (issue 12, item 8): operations per socket are capped (the one
 * over the cap gets an error message, the others carry on), messages per socket are rate-limited (close 4429), and
 * connections per client address are capped (HTTP 429 at the handshake). bench/ws-flood.ts measures the event loop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type TestServer } from './harness.js';

interface Message {
  id?: string;
  type: string;
  payload?: unknown;
}

/** A raw graphql-transport-ws socket, acknowledged, with every message it receives. */
async function openSocket(
  server: TestServer,
): Promise<{ ws: WebSocket; messages: Message[]; closed: Promise<number> }> {
  const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  const messages: Message[] = [];
  const closed = new Promise<number>((resolve) => {
    ws.once('close', (code) => {
      resolve(code);
    });
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as Message));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await until(() => messages.some((m) => m.type === 'connection_ack'));
  return { ws, messages, closed };
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const subscribe = (ws: WebSocket, id: string, query: string) => {
  ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
};
const LONG = 'subscription { heartbeat(count: 100, intervalMs: 60000) }';

describe('graphql-ws limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      env: { WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '2', WS_MESSAGE_BURST: '20', WS_MAX_CONNECTIONS_PER_CLIENT: '3' },
    });
  });
  afterAll(() => server.stop());

  it('the operation over WS_MAX_SUBSCRIPTIONS_PER_SOCKET gets an error message; the others and the socket go on', async () => {
    const { ws, messages } = await openSocket(server);
    subscribe(ws, 'a', LONG);
    subscribe(ws, 'b', LONG);
    subscribe(ws, 'c', LONG);
    await until(() => messages.some((m) => m.id === 'c'));
    const refused = messages.find((m) => m.id === 'c');
    expect(refused?.type).toBe('error');
    expect(JSON.stringify(refused?.payload)).toContain('WS_MAX_SUBSCRIPTIONS_PER_SOCKET');
    expect(JSON.stringify(refused?.payload)).toContain('TOO_MANY_REQUESTS');
    // Completing one frees a place: the next operation runs on the same socket.
    ws.send(JSON.stringify({ id: 'a', type: 'complete' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    subscribe(ws, 'd', '{ health { status } }');
    await until(() => messages.some((m) => m.id === 'd' && m.type === 'complete'));
    expect(messages.find((m) => m.id === 'd' && m.type === 'next')?.payload).toEqual({
      data: { health: { status: 'ok' } },
    });
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  it('a socket that floods frames past WS_MESSAGE_BURST is closed with 4429 and the rest is not run', async () => {
    const { ws, messages, closed } = await openSocket(server);
    for (let i = 0; i < 10_000; i++) subscribe(ws, String(i), '{ health { status } }');
    expect(await closed).toBe(4429);
    // The connection_init and at most the burst's operations were read: the flood was dropped unread.
    expect(new Set(messages.filter((m) => m.id !== undefined).map((m) => m.id)).size).toBeLessThanOrEqual(20);
    // The server answers others at once.
    expect((await server.gql('{ health { status } }')).data).toEqual({ health: { status: 'ok' } });
  });

  it('connections over WS_MAX_CONNECTIONS_PER_CLIENT are refused with 429 at the handshake; a closed one frees a place', async () => {
    const sockets = await Promise.all([openSocket(server), openSocket(server), openSocket(server)]);
    const status = await new Promise<number>((resolve) => {
      const extra = new WebSocket(server.wsUrl, 'graphql-transport-ws');
      extra.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
      });
      extra.once('open', () => {
        resolve(101);
      });
    });
    expect(status).toBe(429);
    sockets[0].ws.close();
    await sockets[0].closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await openSocket(server);
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
    for (const socket of [again, ...sockets.slice(1)]) socket.ws.close();
  });
});
