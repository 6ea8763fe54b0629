/**
 * buildApp(config) → { start, stop }: one Node HTTP server with GraphQL (yoga) at /graphql, graphql-ws on the same
 * port and path, and the REST compatibility routes everywhere else.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { createServices, type Services } from '../services/container.js';
import { closeUploadWorker, keepUploadThread } from '../services/worker-pool.js';
import { createRestHandler } from '../rest/router.js';
import { createDashboardHandler } from '../dashboard/handler.js';
import { requestBodyTooLarge } from '../domain/errors.js';
import { createGraphQLApp, GRAPHQL_PATH, type Yoga } from './graphql-app.js';
import { corsOriginFor } from './cors.js';
import { GRAPHQL_HTTP_STATUS, MASKED_MESSAGE } from './graphql-errors.js';
import { isJsonContentType, preparsedBody } from './json-body.js';
import { MULTIPART_ALLOWANCE } from '../rest/http.js';
import { REQUEST_ID_HEADER, assignRequestId } from './request-id.js';
import { answerClientError } from './request-errors.js';
import { attachGraphQLWebSocket } from './websocket.js';
import { createDirectGraphQL, type GraphQLHttpRoutes } from './direct-graphql.js';

export interface App {
  readonly services: Services;
  readonly yoga: Yoga;
  /** JSON POSTs to /graphql answered without yoga's Fetch layer, and those left to it (src/http/direct-graphql.ts). */
  readonly graphqlRoutes: GraphQLHttpRoutes;
  /** Listens on config.host:config.port (0 = any free port) and resolves with the bound address. */
  start(): Promise<{ url: string; port: number; host: string }>;
  /** Stops accepting, closes WebSocket and HTTP connections, waits for training workers, closes the DB. */
  stop(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
}

export async function buildApp(config: AppConfig, options: BuildOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const services = await createServices(config, logger);
  const corsOrigin = (origin: string | null) => corsOriginFor(config.corsOrigins, origin);
  const yoga = createGraphQLApp(config, services, logger, corsOrigin);
  const direct = createDirectGraphQL(yoga, services.owners, logger);
  const rest = createRestHandler({ yoga, config, logger, services, corsOrigin });
  const dashboard = createDashboardHandler({
    yoga,
    logError: (message, meta) => {
      logger.error(message, meta);
    },
  });

  const server = http.createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    // One request id for the whole request: yoga's context and the REST layer read it from the request's header.
    const requestId = assignRequestId(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // The access line, timed only when its level is written (a listener and a clock read per request otherwise).
    if (logger.enabled('info')) {
      const started = performance.now();
      res.once('finish', () => {
        logger.info('request', {
          requestId,
          method: req.method,
          path: pathname,
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
        });
      });
    }
    if (pathname === GRAPHQL_PATH) {
      const length = Number(req.headers['content-length'] ?? 0);
      // One limit for JSON (and any other non-file body) everywhere, MAX_JSON_BODY_MB; MAX_UPLOAD_MB only for files.
      const multipart = (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
      const tooLarge = () => {
        const { message, code } = multipart
          ? requestBodyTooLarge(config.maxUploadBytes)
          : requestBodyTooLarge(config.maxJsonBodyBytes, 'MAX_JSON_BODY_MB');
        res.writeHead(GRAPHQL_HTTP_STATUS[code], { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
        req.resume();
      };
      // Refused before any of the body is read (multipart bodies are then read as they arrive: multipart-graphql.ts).
      if (length > (multipart ? config.maxUploadBytes + MULTIPART_ALLOWANCE : config.maxJsonBodyBytes)) {
        tooLarge();
        return;
      }
      if (
        req.method === 'POST' &&
        (length > 0 || req.headers['transfer-encoding'] !== undefined) &&
        isJsonContentType(req.headers['content-type'])
      ) {
        // Counted as it comes, so a chunked body (no content-length) is bounded too, without yoga's stream limiter.
        // A client that hangs up mid-body gets no answer, as on yoga's path.
        const chunks: Buffer[] = [];
        let size = 0;
        let refused = false;
        req.on('data', (chunk: Buffer) => {
          if (refused) return;
          size += chunk.length;
          if (size > config.maxJsonBodyBytes) {
            refused = true;
            chunks.length = 0;
            tooLarge();
            return;
          }
          chunks.push(chunk);
        });
        req.once('end', () => {
          if (refused) return;
          const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
          const body = preparsedBody(text);
          // The plain JSON query or mutation skips yoga's Fetch layer (src/http/direct-graphql.ts); yoga answers the rest.
          void direct.answer(req, res, body).then(
            (answered) => {
              if (answered) return;
              (req as http.IncomingMessage & { body?: unknown }).body = body;
              void yoga(req, res);
            },
            (error: unknown) => {
              logger.error('unexpected error answering a GraphQL request', { err: error });
              if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
              res.end(
                JSON.stringify({
                  errors: [{ message: MASKED_MESSAGE, extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
                }),
              );
            },
          );
        });
        req.once('error', () => res.destroy());
        return;
      }
      void yoga(req, res);
      return;
    }
    if (dashboard(req, res)) return; // /app and the run plots' SVG images (src/dashboard)
    void rest(req, res);
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 300_000;
  server.on('clientError', answerClientError);

  const webSocket = attachGraphQLWebSocket(server, yoga, config, logger);

  let stopping: Promise<void> | null = null;

  return {
    services,
    yoga,
    graphqlRoutes: direct.routes,
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          // Only a serving process takes uploads (a training worker, src/worker.ts, keeps no upload thread).
          if (config.uploadWarmUp) keepUploadThread(config.workerIdleMs);
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
        await webSocket.close();
        server.closeIdleConnections();
        const force = setTimeout(() => {
          server.closeAllConnections();
        }, 2000);
        await closed;
        clearTimeout(force);
        await services.close();
        await closeUploadWorker();
        logger.info('server stopped');
      })();
      return stopping;
    },
  };
}
