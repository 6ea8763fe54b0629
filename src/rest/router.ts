/**
 * The REST compatibility layer: route table, CORS, the envelope, error → status mapping. Every route runs a
 * GraphQL operation in-process (see routes.ts); the two file routes hand bytes to and from the same services.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Yoga } from '../graphql-app.js';
import { requestIdFrom } from '../graphql-app.js';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services/container.js';
import { APP_VERSION } from '../version.js';
import { graphQLRunner } from './graphql-client.js';
import { HttpError, corsHeaders, readBody, readFields, sendError, sendSuccess } from './http.js';
import * as routes from './routes.js';

export interface RestDeps {
  yoga: Yoga;
  config: AppConfig;
  logger: Logger;
  services: Services;
  corsOrigin: (origin: string | null) => string | null;
}

type Handler = (ctx: routes.RouteContext) => Promise<routes.RouteResult>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<'GET' | 'POST' | 'DELETE', Handler | 'upload' | 'csv' | 'index'>>;
  /** GET changes state (GET /select creates a session), so HEAD must not run it. */
  noHead?: true;
}

const ROUTES: Route[] = [
  { pattern: /^\/$/, methods: { GET: 'index' } },
  { pattern: /^\/select\/?$/, methods: { GET: routes.getSelect, POST: routes.postSelect }, noHead: true },
  { pattern: /^\/training\/?$/, methods: { GET: routes.getTraining, POST: routes.postTraining } },
  { pattern: /^\/predict\/?$/, methods: { GET: routes.getPredict, POST: routes.postPredict } },
  { pattern: /^\/result\/?$/, methods: { GET: routes.getResult, POST: routes.postResult } },
  { pattern: /^\/api\/datasets\/?$/, methods: { GET: routes.getDatasets } },
  { pattern: /^\/api\/models\/?$/, methods: { GET: routes.getModels } },
  { pattern: /^\/api\/health\/?$/, methods: { GET: routes.getHealth } },
  { pattern: /^\/api\/upload\/?$/, methods: { POST: 'upload' } },
  { pattern: /^\/api\/sessions\/(?<id>[^/]+)\/?$/, methods: { GET: routes.getSession, DELETE: routes.deleteSession } },
  { pattern: /^\/api\/predictions\/(?<id>[^/]+)\.csv$/, methods: { GET: 'csv' } },
];

const ENDPOINTS = [
  'GET /select', 'POST /select', 'POST /training', 'GET /training', 'POST /predict', 'GET /predict', 'GET /result', 'POST /result',
  'GET /api/datasets', 'GET /api/models', 'POST /api/upload', 'GET /api/sessions/<id>', 'DELETE /api/sessions/<id>',
  'GET /api/predictions/<id>.csv', 'GET /api/health',
];

function indexHtml(): string {
  const items = ENDPOINTS.map((e) => `<li><code>${e}</code></li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Exoplanet Playground</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body><h1>Exoplanet Playground</h1><p>Train, compare and explain models that tell real exoplanets from false positives on NASA's Kepler, K2 and TESS tables or your own CSV.</p>
<p><a href="/graphql">Open GraphiQL</a> to explore the GraphQL API (queries, mutations and live training subscriptions).</p>
<h2>REST endpoints</h2><ul>${items}</ul></body></html>`;
}

export function createRestHandler(deps: RestDeps) {
  const { yoga, config, logger, services } = deps;

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdFrom(typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : null);
    const cors = corsHeaders(deps.corsOrigin(typeof req.headers.origin === 'string' ? req.headers.origin : null));
    for (const [name, value] of Object.entries(cors)) res.setHeader(name, value);
    res.setHeader('x-request-id', requestId);
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendError(res, 400, 'BAD_REQUEST', 'Malformed URL.');
      return;
    }
    try {
      const route = ROUTES.find((r) => r.pattern.test(url.pathname));
      if (!route) throw new HttpError(404, 'NOT_FOUND', `No route ${method} ${url.pathname}. See GET / for the endpoints, or /graphql.`);
      const allowed = Object.keys(route.methods);
      if (method === 'OPTIONS') {
        res.writeHead(204, {
          allow: [...allowed, 'OPTIONS'].join(', '),
          ...(cors['access-control-allow-origin']
            ? { 'access-control-allow-methods': [...allowed, 'OPTIONS'].join(', '), 'access-control-allow-headers': 'content-type, x-request-id', 'access-control-max-age': '600' }
            : {}),
        });
        res.end();
        return;
      }
      const handler = route.methods[method as keyof Route['methods']] ?? (method === 'HEAD' && !route.noHead ? route.methods.GET : undefined);
      if (!handler) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}; allowed: ${allowed.join(', ')}.`, { allow: allowed.join(', ') });
      const params = (url.pathname.match(route.pattern)?.groups ?? {}) as Record<string, string>;
      const gql = graphQLRunner(yoga, requestId);

      if (handler === 'index') {
        const accept = String(req.headers.accept ?? '');
        if (accept.includes('text/html')) {
          const html = indexHtml();
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
          res.end(html);
          return;
        }
        sendSuccess(res, {
          name: 'Exoplanet Playground',
          version: APP_VERSION,
          description: 'Train, compare and explain ML models that tell real exoplanets from false positives (NASA Kepler, K2, TESS or your CSV).',
          graphql: '/graphql',
          subscriptions: { websocket: 'ws(s)://<host>/graphql (graphql-ws)', sse: 'POST /graphql with Accept: text/event-stream' },
          endpoints: ENDPOINTS,
        });
        return;
      }
      if (handler === 'upload') {
        const type = String(req.headers['content-type'] ?? '');
        if (!type.toLowerCase().startsWith('multipart/form-data')) {
          throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the CSV as multipart/form-data with the field "file".');
        }
        const body = await readBody(req, config.maxUploadBytes + 1024 * 1024, `MAX_UPLOAD_MB (${config.maxUploadBytes / 1024 / 1024} MB)`);
        let form: FormData;
        try {
          form = await new Response(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, { headers: { 'content-type': type } }).formData();
        } catch {
          throw new HttpError(400, 'BAD_REQUEST', 'The multipart body could not be parsed.');
        }
        const file = form.get('file');
        if (!(file instanceof Blob)) throw new HttpError(400, 'BAD_USER_INPUT', 'The multipart field "file" is missing.');
        const name = form.get('name');
        const label = form.get('label_column') ?? form.get('labelColumn');
        const { uploadDataset } = await gql<{ uploadDataset: { id: string } }>(
          routes.UPLOAD_MUTATION,
          { name: typeof name === 'string' ? name : null, label: typeof label === 'string' ? label : null },
          { name: (file as File).name || 'upload.csv', blob: file, variable: 'file' },
        );
        sendSuccess(res, { dataset_id: uploadDataset.id, dataset: uploadDataset }, 201);
        return;
      }
      if (handler === 'csv') {
        const batch = services.predictions.get(params.id);
        if (!batch) throw new HttpError(404, 'NOT_FOUND', `Prediction "${params.id}" was not found.`);
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${batch.id}.csv"` });
        for (const chunk of services.predictions.csv(batch)) {
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
        return;
      }
      let cachedBody: Promise<Record<string, unknown>> | null = null;
      const result = await handler({ req, url, params, gql, body: () => (cachedBody ??= readFields(req)) });
      sendSuccess(res, result.data, result.status ?? 200, result.top);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        const field = (error as { field?: string }).field;
        sendError(res, error.status, error.code, error.message, field ? { field } : {}, error.headers);
        if (error.status === 413) req.resume();
        return;
      }
      logger.error('unexpected error in a REST route', { requestId, err: error, path: url.pathname });
      sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
    }
  };
}

