/**
 * buildApp(config) → { start, stop }: one Node HTTP server with GraphQL (yoga) at /graphql, graphql-ws on the same
 * port and path, and the REST compatibility routes everywhere else.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import {
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type execute as graphqlExecute,
  type subscribe as graphqlSubscribe,
} from 'graphql';
import { envelop, type Plugin } from 'graphql-yoga';
import type { AppConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { createServices, type Services } from '../services/container.js';
import { createGraphQLApp, GRAPHQL_PATH, requestIdFrom, type Yoga } from './graphql-app.js';
import { createRestHandler } from '../rest/router.js';
import { corsOriginFor, browserOriginAllowed } from './cors.js';
import { useSharedSubscriptionExecution } from './shared-subscriptions.js';
import { PARSED_JSON_MAX_BYTES, isJsonContentType, preparsedBody } from './json-body.js';

/** By name as well as class: graphql-js may be loaded twice (ESM and CJS builds). */
function isGraphQLErrorLike(value: unknown): value is GraphQLError {
  return value instanceof GraphQLError || (value instanceof Error && value.name === 'GraphQLError');
}

export interface App {
  readonly services: Services;
  readonly yoga: Yoga;
  /** Listens on config.host:config.port (0 = any free port) and resolves with the bound address. */
  start(): Promise<{ url: string; port: number; host: string }>;
  /** Stops accepting, closes WebSocket and HTTP connections, waits for training workers, closes the DB. */
  stop(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
}

type OperationResult = ReturnType<typeof graphqlExecute> | ReturnType<typeof graphqlSubscribe>;
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}

export async function buildApp(config: AppConfig, options: BuildOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const services = await createServices(config, logger);
  const corsOrigin = (origin: string | null) => corsOriginFor(config.corsOrigins, origin);
  const yoga = createGraphQLApp(config, services, logger, corsOrigin);
  const rest = createRestHandler({ yoga, config, logger, services, corsOrigin });

  const server = http.createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    const started = performance.now();
    // One request id for the whole request: yoga's context and the REST layer read it from this header.
    const requestId = requestIdFrom(
      typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : null,
    );
    req.headers['x-request-id'] = requestId;
    res.setHeader('x-request-id', requestId);
    res.once('finish', () => {
      logger.info('request', {
        requestId,
        method: req.method,
        path: pathname,
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    });
    if (pathname === GRAPHQL_PATH) {
      const length = Number(req.headers['content-length'] ?? 0);
      // Refuse an oversized body before yoga buffers it (yoga reads multipart requests whole).
      if (length > config.maxUploadBytes + 1024 * 1024) {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        res.end(
          JSON.stringify({
            errors: [
              {
                message: `The request body is larger than MAX_UPLOAD_MB (${config.maxUploadBytes / 1024 / 1024} MB).`,
                extensions: { code: 'PAYLOAD_TOO_LARGE' },
              },
            ],
          }),
        );
        req.resume();
        return;
      }
      if (
        req.method === 'POST' &&
        length > 0 &&
        length <= PARSED_JSON_MAX_BYTES &&
        isJsonContentType(req.headers['content-type'])
      ) {
        // Node's parser delivers exactly content-length bytes, so the body is bounded without yoga's stream limiter.
        // A client that hangs up mid-body gets no answer, as on yoga's path.
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.once('end', () => {
          const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
          (req as http.IncomingMessage & { body?: unknown }).body = preparsedBody(text);
          void yoga(req, res);
        });
        req.once('error', () => res.destroy());
        return;
      }
      void yoga(req, res);
      return;
    }
    void rest(req, res);
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 300_000;

  // yoga's own pipeline (the same plugins: context, validation, masking) plus shared execution of fanned-out
  // subscription events. yoga keeps its flattened envelop plugin list in `plugins` (TS-protected; reading
  // `yoga.getEnveloped._plugins` fails because the server adapter proxy hands out a wrapped getEnveloped).
  const yogaPlugins = (yoga as unknown as { plugins: Plugin[] }).plugins;
  const getWsEnveloped = envelop({ plugins: [...yogaPlugins, useSharedSubscriptionExecution()] });
  // perMessageDeflate stays off (the ws default): compressing each of 1,000 copies would cost more than it saves.
  // noServer: the HTTP server's own errors (a port in use) stay with start(), not re-emitted as WebSocket errors.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '/').split('?')[0] !== GRAPHQL_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (!browserOriginAllowed(config.corsOrigins, req.headers.origin, req.headers.host)) {
      const body = `Origin ${String(req.headers.origin).slice(0, 100)} is not allowed (CORS_ORIGINS).`;
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req));
  });
  const wsCleanup = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const request = ctx.extra.request;
        const { schema, execute, subscribe, contextFactory, parse, validate } = getWsEnveloped({
          ...ctx,
          req: request,
          socket: ctx.extra.socket,
          params: payload,
          request: {
            headers: new Headers({ 'x-request-id': requestIdFrom(String(request.headers['x-request-id'] ?? '')) }),
          },
        });
        // A syntax error, or a limit that throws while validating (graphql-armor's aliases), answers this subscription
        // with an error message; thrown, graphql-ws would close the socket with 4500 and end every other subscription.
        let document: DocumentNode;
        let errors: readonly GraphQLError[];
        try {
          document = parse(payload.query);
          errors = validate(schema, document);
        } catch (error) {
          // Re-created in graphql-ws's realm: its `instanceof GraphQLError` check rejects a plugin's copy of the class.
          if (isGraphQLErrorLike(error)) return [new GraphQLError(error.message, { extensions: error.extensions })];
          throw error;
        }
        if (errors.length) return errors;
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        return args;
      },
    },
    wsServer,
  );

  let stopping: Promise<void> | null = null;

  return {
    services,
    yoga,
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          logger.info('server listening', { url: `http://${host}:${address.port}${GRAPHQL_PATH}` });
          resolve({ url: `http://${host}:${address.port}`, port: address.port, host: address.address });
        });
      }),
    stop: () => {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
        for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
        await wsCleanup.dispose();
        await new Promise<void>((resolve) => {
          wsServer.close(() => {
            resolve();
          });
        });
        server.closeIdleConnections();
        const force = setTimeout(() => {
          server.closeAllConnections();
        }, 2000);
        await closed;
        clearTimeout(force);
        await services.close();
        logger.info('server stopped');
      })();
      return stopping;
    },
  };
}
