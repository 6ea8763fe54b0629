/**
 * graphql-ws on the HTTP server's port and path, through yoga's own pipeline by its public API: `yoga.getEnveloped`
 * in `onSubscribe`, and execute/subscribe of that enveloped result (the documented graphql-ws recipe). Context,
 * parsing, validation with its limits, the plugins (shared execution of fanned-out subscriptions included) and error
 * masking are therefore the ones HTTP and SSE run.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { SubscribePayload } from 'graphql-ws';
import { isAsyncIterable } from 'graphql-yoga';
import {
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type execute as graphqlExecute,
  type subscribe as graphqlSubscribe,
} from 'graphql';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { browserOriginAllowed } from './cors.js';
import { GRAPHQL_PATH, fetchRequestFor, type Yoga } from './graphql-app.js';
import { MASKED_MESSAGE, isGraphQLError } from './graphql-errors.js';
import { assignRequestId } from './request-id.js';
import { isSharedOperation, sharedOperationKey } from './shared-subscriptions.js';
import { createWebSocketFanOut } from './ws-fanout.js';

type OperationResult = ReturnType<typeof graphqlExecute> | ReturnType<typeof graphqlSubscribe>;
/** The enveloped execute/subscribe travel to graphql-ws's execute/subscribe options in the root value (the recipe). */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}

/** envelop types the engine it hands out loosely (`any`); these are graphql-js's functions, typed here once. */
interface Enveloped extends EnvelopedRoot {
  schema: GraphQLSchema;
  parse: (source: string) => DocumentNode;
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  contextFactory: () => unknown;
}

/** yoga's HTTP layer drops these extensions from what it sends (`http` is its status and headers); so does this one. */
function formatted(error: GraphQLError): GraphQLFormattedError {
  const json = error.toJSON();
  if (!json.extensions) return json;
  const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions;
  const { extensions: _all, ...rest } = json;
  return Object.keys(extensions).length > 0 ? { ...rest, extensions } : rest;
}

/** The `next` payload of a result, as graphql-ws sends it, with errors formatted as HTTP formats them. */
function nextPayload(result: ExecutionResult): FormattedExecutionResult {
  const { errors, ...rest } = result;
  return errors ? { ...rest, errors: errors.map(formatted) } : rest;
}

/**
 * A result's `next` payload as UTF-8 JSON, serialised once per result object: the subscribers of a run share their
 * result objects (shared-subscriptions.ts), so 1,000 of them cost one JSON.stringify per event instead of 1,000.
 */
const payloadJson = new WeakMap<ExecutionResult, Buffer>();
function payloadJsonOf(result: ExecutionResult): Buffer {
  let json = payloadJson.get(result);
  if (!json) payloadJson.set(result, (json = Buffer.from(JSON.stringify(nextPayload(result)))));
  return json;
}
const NEXT_MESSAGE_END = Buffer.from('}');

/**
 * The streams ws-fanout.ts does not share (other subscription fields, e.g. searchProgress): results written here
 * rather than by graphql-ws, as the same bytes graphql-ws writes
 * (`{"id":…,"type":"next","payload":…}`, its own key order), the payload serialised once per shared result. A write
 * the socket could not hand to the kernel at once is awaited before the next result is pulled (graphql-ws awaits
 * every one), so a slow socket holds back its own subscriptions only, and what it is owed waits on the bus. The iterator handed to graphql-ws yields nothing: it sees the stream end (and sends `complete`)
 * or fail (and sends `error`) as before, and its `return()` (the client's `complete`, a closed socket) stops the writes.
 */
function writeResults(
  socket: WebSocket,
  id: string,
  results: AsyncIterable<ExecutionResult>,
): AsyncIterableIterator<ExecutionResult> {
  const source = results[Symbol.asyncIterator]();
  const prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  let stopped = false;
  // As graphql-ws's own send: a socket that is no longer open takes nothing, and that is not an error. A frame the
  // kernel took at once (nothing left buffered) needs no wait; otherwise the next result waits for this write.
  const send = (frame: Buffer): Promise<void> | undefined => {
    if (socket.readyState !== socket.OPEN) return undefined;
    // The callback may run before or after the check below (ws calls it once the socket has written the frame).
    const write: { outcome: 'pending' | 'written' | Error; settle?: (error?: Error) => void } = { outcome: 'pending' };
    socket.send(frame, { binary: false }, (error) => {
      write.outcome = error ?? 'written';
      write.settle?.(error);
    });
    if (write.outcome instanceof Error) return Promise.reject(write.outcome);
    if (write.outcome === 'written' || socket.bufferedAmount === 0) return undefined;
    return new Promise<void>((resolve, reject) => {
      write.settle = (error) => {
        if (error) reject(error);
        else resolve();
      };
    });
  };
  const done: IteratorResult<ExecutionResult> = { done: true, value: undefined };
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      for (;;) {
        const next = await source.next();
        if (next.done || stopped) return done;
        const pending = send(Buffer.concat([prefix, payloadJsonOf(next.value), NEXT_MESSAGE_END]));
        if (pending) await pending;
      }
    },
    return: async () => {
      stopped = true;
      await source.return?.();
      return done;
    },
  };
  return iterator;
}

/** Close code for a socket over its message rate: graphql-ws's own 4429 (too many requests, as for init requests). */
export const CLOSE_TOO_MANY_MESSAGES = 4429;

/**
 * A token bucket per socket in front of graphql-ws's message handler (moved behind a gate): a socket that sends more
 * than `burst` messages at once, or more than `perSecond` sustained, is closed with 4429 and what it sent after that is
 * dropped unread, so a flood of frames costs the event loop only the frames within the bucket.
 */
function limitMessageRate(ws: WebSocket, perSecond: number, burst: number): void {
  const handlers = ws.listeners('message') as ((data: WebSocket.RawData, isBinary: boolean) => void)[];
  ws.removeAllListeners('message');
  let tokens = burst;
  let refilled = performance.now();
  let closed = false;
  ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
    if (closed) return;
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - refilled) / 1000) * perSecond);
    refilled = now;
    if (tokens < 1) {
      closed = true;
      ws.close(
        CLOSE_TOO_MANY_MESSAGES,
        `Too many messages (WS_MESSAGES_PER_SECOND = ${perSecond}, WS_MESSAGE_BURST = ${burst})`.slice(0, 123),
      );
      return;
    }
    tokens -= 1;
    for (const handler of handlers) handler.call(ws, data, isBinary);
  });
}

export interface GraphQLWebSocket {
  /** Closes every socket (1001), then the server. */
  close(): Promise<void>;
}

export function attachGraphQLWebSocket(
  server: http.Server,
  yoga: Yoga,
  config: AppConfig,
  logger: Logger,
): GraphQLWebSocket {
  // perMessageDeflate stays off (the ws default): compressing each of 1,000 copies would cost more than it saves.
  // noServer: the HTTP server's own errors (a port in use) stay with start(), not re-emitted as WebSocket errors.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
  const connectionsPerClient = new Map<string, number>();
  // Each WebSocket's own TCP socket: the fan-out writes its pre-framed messages there (one write each).
  const sockets = new WeakMap<WebSocket, Duplex>();
  const fanOut = createWebSocketFanOut({ serialise: payloadJsonOf, maxOwedBytes: config.wsMaxOwedBytes });
  server.on('upgrade', (req: http.IncomingMessage, socket, head) => {
    if ((req.url ?? '/').split('?')[0] !== GRAPHQL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    // Browsers send no CORS preflight for WebSockets: a page from another origin is refused here (see cors.ts).
    if (!browserOriginAllowed(config.corsOrigins, req.headers.origin, req.headers.host)) {
      const body = `Origin ${String(req.headers.origin).slice(0, 100)} is not allowed (CORS_ORIGINS).`;
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    // Connections per client address: refused before the handshake, so a refused client costs no socket state.
    const address = req.socket.remoteAddress ?? '';
    const open = connectionsPerClient.get(address) ?? 0;
    if (open >= config.wsMaxConnectionsPerClient) {
      const body = `Too many WebSocket connections from this address (WS_MAX_CONNECTIONS_PER_CLIENT = ${config.wsMaxConnectionsPerClient}).`;
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\nretry-after: 5\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    // One request id per connection, for every operation on it.
    assignRequestId(req);
    wsServer.handleUpgrade(req, socket, head, (ws) => {
      sockets.set(ws, socket);
      connectionsPerClient.set(address, (connectionsPerClient.get(address) ?? 0) + 1);
      ws.once('close', () => {
        const left = (connectionsPerClient.get(address) ?? 1) - 1;
        if (left > 0) connectionsPerClient.set(address, left);
        else connectionsPerClient.delete(address);
      });
      wsServer.emit('connection', ws, req);
    });
  });

  // yoga's context factory reads the request id from a Fetch request's headers, as for HTTP: one per connection.
  const fetchRequests = new WeakMap<http.IncomingMessage, Request>();
  const fetchRequestOf = (req: http.IncomingMessage) => {
    let request = fetchRequests.get(req);
    if (!request) fetchRequests.set(req, (request = fetchRequestFor(yoga, req)));
    return request;
  };

  const cleanup = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onSubscribe: async (ctx, _id, payload: SubscribePayload) => {
        // graphql-ws has registered this operation already: over the cap, only this one is refused, with an error
        // message, and the socket's other operations carry on.
        if (Object.keys(ctx.subscriptions).length > config.wsMaxSubscriptionsPerSocket) {
          return [
            new GraphQLError(
              `Too many operations at once on this WebSocket (WS_MAX_SUBSCRIPTIONS_PER_SOCKET = ${config.wsMaxSubscriptionsPerSocket}): complete one first.`,
              { extensions: { code: 'TOO_MANY_REQUESTS' } },
            ),
          ];
        }
        const enveloped: Enveloped = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          request: fetchRequestOf(ctx.extra.request),
          params: {
            query: payload.query,
            operationName: payload.operationName ?? undefined,
            variables: payload.variables ?? undefined,
            extensions: payload.extensions ?? undefined,
          },
        });
        // Whatever fails before execution answers this subscription with an error message; thrown, graphql-ws would
        // close the socket with 4500 and end every other subscription on it.
        try {
          const { schema, execute, subscribe } = enveloped;
          const document = enveloped.parse(payload.query);
          const errors = enveloped.validate(schema, document);
          if (errors.length > 0) return errors;
          const args: ExecutionArgs = {
            schema,
            operationName: payload.operationName,
            document,
            variableValues: payload.variables,
            contextValue: await enveloped.contextFactory(),
            rootValue: { execute, subscribe } satisfies EnvelopedRoot,
          };
          return args;
        } catch (error) {
          // Re-created by this module's graphql: graphql-ws tells errors from execution arguments by `instanceof`.
          if (isGraphQLError(error)) return [new GraphQLError(error.message, { extensions: error.extensions })];
          logger.error('unexpected error before a WebSocket operation', { err: error });
          return [new GraphQLError(MASKED_MESSAGE, { extensions: { code: 'INTERNAL_SERVER_ERROR' } })];
        }
      },
      // Shared subscriptions (one run's progress): one source for all their subscribers (ws-fanout.ts). Other streams:
      // written by writeResults; single results (queries, mutations) by graphql-ws with onNext's payload.
      onOperation: (ctx, id, _payload, args, result) => {
        if (!isAsyncIterable<ExecutionResult>(result)) return undefined;
        const key = isSharedOperation(args.document, args.operationName) ? sharedOperationKey(args) : null;
        const socket = sockets.get(ctx.extra.socket);
        if (key === null || !socket) return writeResults(ctx.extra.socket, id, result);
        return fanOut.join({
          key,
          ws: ctx.extra.socket,
          socket,
          id,
          own: result,
          openSource: () => (args.rootValue as EnvelopedRoot).subscribe(args),
        });
      },
      onNext: (_ctx, _id, _payload, _args, result: ExecutionResult) => nextPayload(result),
      onError: (_ctx, _id, _payload, errors) => errors.map(formatted),
    },
    wsServer,
  );
  // Registered after graphql-ws's own listener: the token bucket sits in front of graphql-ws's message handler.
  wsServer.on('connection', (ws: WebSocket) => {
    limitMessageRate(ws, config.wsMessagesPerSecond, config.wsMessageBurst);
  });

  return {
    close: async () => {
      for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
      await cleanup.dispose();
      await new Promise<void>((resolve) => {
        wsServer.close(() => {
          resolve();
        });
      });
    },
  };
}
