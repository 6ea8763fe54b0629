/**
 * The REST compatibility layer: route table, CORS, the envelope, error → status mapping. Every route runs GraphQL
 * operations in-process (routes.ts, custom.ts); the file routes hand bytes to and from the same services.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Yoga } from '../http/graphql-app.js';
import { requestIdOf } from '../http/request-id.js';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services/container.js';
import { APP_VERSION } from '../version.js';
import { graphQLRunner } from './graphql-client.js';
import { HttpError, corsHeaders, readBody, readFields, sendError, sendJson, sendSuccess } from './http.js';
import { HOME, ORIGINAL_MODELS } from './original.js';
import { browserOriginAllowed } from '../http/cors.js';
import * as routes from './routes.js';
import * as custom from './custom.js';
import { z } from 'zod';
import { ROUTE_SPECS, routeSpec } from './spec.js';
import { openApiDocument } from './openapi.js';
import { docsHtml } from './docs.js';

export interface RestDeps {
  yoga: Yoga;
  config: AppConfig;
  logger: Logger;
  services: Services;
  corsOrigin: (origin: string | null) => string | null;
}

type Method = 'GET' | 'POST' | 'DELETE';
type Handler = (ctx: routes.RouteContext) => Promise<routes.RouteResult>;
type Special = 'index' | 'upload' | 'upload-csv' | 'csv' | 'openapi' | 'docs';

interface Route {
  /** The path as documented, with `<name>` parameters. */
  path: string;
  pattern: RegExp;
  methods: Partial<Record<Method, Handler | Special>>;
  /** GET changes state (GET /select creates a session), so HEAD must not run it. */
  noHead?: true;
  /** The final API's envelope: `{"success": true|false, …}`. */
  successFlag?: true;
}

function route(
  path: string,
  methods: Route['methods'],
  options: { noHead?: true; suffix?: string; successFlag?: true } = {},
): Route {
  const source = path
    .split('/')
    .map((part) =>
      part.startsWith('<') ? `(?<${part.slice(1, -1)}>[^/]+?)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('\\/');
  const pattern = new RegExp(`^${path === '/' ? '\\/' : source}${options.suffix ?? ''}${path === '/' ? '' : '\\/?'}$`);
  return {
    path,
    pattern,
    methods,
    ...(options.noHead ? { noHead: true } : {}),
    ...(options.successFlag ? { successFlag: true } : {}),
  };
}

const ROUTES: Route[] = [
  route('/', { GET: 'index' }),
  route('/select', { GET: routes.getSelect, POST: routes.postSelect }, { noHead: true }),
  route('/training', { GET: routes.getTraining, POST: routes.postTraining }),
  route('/predict', { GET: routes.getPredict, POST: routes.postPredict }),
  route('/result', { GET: routes.getResult, POST: routes.postResult }),
  route('/api/datasets', { GET: routes.getDatasets }),
  route('/api/models', { GET: routes.getModels }),
  route('/api/hyperparameters/<model_type>', { GET: routes.getHyperparameters }),
  route('/api/health', { GET: routes.getHealth }),
  route('/api/frontend-status', { GET: routes.getFrontendStatus }),
  route('/api/upload', { POST: 'upload' }),
  route('/api/upload-csv', { POST: 'upload-csv' }),
  route('/api/sessions/<id>', { GET: routes.getSession, DELETE: routes.deleteSession }),
  { path: '/api/predictions/<id>.csv', pattern: /^\/api\/predictions\/(?<id>[^/]+)\.csv$/, methods: { GET: 'csv' } },
  route('/openapi.json', { GET: 'openapi' }),
  route('/docs', { GET: 'docs' }),
  route('/api/custom/train', { POST: custom.postCustomTrain }, { successFlag: true }),
  route('/api/custom/progress/<sid>', { GET: custom.getCustomProgress }, { successFlag: true }),
  route('/api/custom/result/<sid>', { GET: custom.getCustomResult }, { successFlag: true }),
  route('/api/pretrained/predict', { POST: custom.postPretrainedPredict }, { successFlag: true }),
  route('/api/pretrained/progress/<sid>', { GET: custom.getPretrainedProgress }, { successFlag: true }),
  route('/api/pretrained/result/<sid>', { GET: custom.getPretrainedResult }, { successFlag: true }),
];

// One source: every method of every route is described (and validated) by its spec.
for (const r of ROUTES) {
  for (const method of Object.keys(r.methods))
    if (!routeSpec(method, r.path)) throw new Error(`REST route ${method} ${r.path} has no spec in spec.ts`);
}
for (const spec of ROUTE_SPECS) {
  if (!ROUTES.some((r) => r.path === spec.path && spec.method in r.methods))
    throw new Error(`spec ${spec.method} ${spec.path} has no route`);
}

/** The first zod issue as the REST layer's 400, naming the field. */
function invalid(error: z.ZodError, where: string): HttpError {
  const issue = error.issues[0];
  const field = issue.path.map(String).join('.') || where;
  const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
  const message = missing
    ? `"${field}" is required.`
    : issue.code === 'invalid_value'
      ? issue.message
      : `"${field}": ${issue.message}`;
  return new HttpError(400, 'BAD_USER_INPUT', message, {}, field);
}

const ENDPOINTS = ROUTES.filter((r) => r.path !== '/').flatMap((r) =>
  Object.keys(r.methods).map((method) => `${method} ${r.path}`),
);

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function indexHtml(): string {
  const items = ENDPOINTS.map((e) => `<li><code>${escapeHtml(e)}</code></li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(HOME.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body><h1>${escapeHtml(HOME.title)}</h1><p>${escapeHtml(HOME.description)}</p>
<p><a href="/graphql">Open GraphiQL</a> to explore the GraphQL API (queries, mutations and live training subscriptions), or read the <a href="/docs">REST API reference</a>.</p>
<h2>REST endpoints</h2><ul>${items}</ul></body></html>`;
}

function homeData(): Record<string, unknown> {
  return {
    ...HOME,
    models_available: ORIGINAL_MODELS.map((m) => m.full),
    name: 'Exoplanet Playground',
    version: APP_VERSION,
    graphql: '/graphql',
    docs: '/docs',
    openapi: '/openapi.json',
    subscriptions: {
      websocket: 'ws(s)://<host>/graphql (graphql-ws)',
      sse: 'POST /graphql with Accept: text/event-stream',
    },
    endpoints: ENDPOINTS,
  };
}

/** A multipart body, read within MAX_UPLOAD_MB (plus the multipart allowance) and parsed. */
async function readMultipart(req: IncomingMessage, config: AppConfig, what: string): Promise<FormData> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `Send ${what} as multipart/form-data.`);
  }
  const body = await readBody(
    req,
    config.maxUploadBytes + 1024 * 1024,
    `MAX_UPLOAD_MB (${config.maxUploadBytes / 1024 / 1024} MB)`,
  );
  try {
    return await new Response(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, {
      headers: { 'content-type': type },
    }).formData();
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'The multipart body could not be parsed.');
  }
}

const formString = (form: FormData, ...names: string[]): string | null => {
  for (const name of names) {
    const value = form.get(name);
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
};

export function createRestHandler(deps: RestDeps) {
  const { yoga, config, logger, services } = deps;
  const pretrained = custom.createPretrainedState();

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdOf(req);
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
    const found = ROUTES.find((r) => r.pattern.test(url.pathname));
    try {
      const allowed = found ? Object.keys(found.methods) : [];
      // Every path answers the preflight, known or not: the browser then sends the request and shows our 404
      // instead of reporting a CORS failure.
      if (method === 'OPTIONS') {
        const methods = found ? [...allowed, 'OPTIONS'].join(', ') : 'GET, POST, DELETE, OPTIONS';
        res.writeHead(204, {
          allow: methods,
          ...(cors['access-control-allow-origin']
            ? {
                'access-control-allow-methods': methods,
                'access-control-allow-headers': String(
                  req.headers['access-control-request-headers'] ?? 'content-type, x-request-id',
                ),
                'access-control-max-age': '600',
              }
            : {}),
        });
        res.end();
        return;
      }
      // A browser sends "simple" cross-origin requests (a form, a multipart upload) without a preflight: a page from an
      // origin outside CORS_ORIGINS must not change state here, even though it could never read the answer.
      if (
        !['GET', 'HEAD'].includes(method) &&
        !browserOriginAllowed(config.corsOrigins, req.headers.origin, req.headers.host)
      ) {
        req.resume();
        throw new HttpError(
          403,
          'FORBIDDEN',
          `Requests that change state are not accepted from the origin ${String(req.headers.origin).slice(0, 100)} (not in CORS_ORIGINS).`,
        );
      }
      if (!found)
        throw new HttpError(
          404,
          'NOT_FOUND',
          `No route ${method} ${url.pathname}. See GET / or /docs for the endpoints, or /graphql.`,
        );
      const handler =
        found.methods[method as Method] ?? (method === 'HEAD' && !found.noHead ? found.methods.GET : undefined);
      if (!handler)
        throw new HttpError(
          405,
          'METHOD_NOT_ALLOWED',
          `${method} is not allowed on ${url.pathname}; allowed: ${allowed.join(', ')}.`,
          { allow: allowed.join(', ') },
        );
      const params = (url.pathname.match(found.pattern)?.groups ?? {}) as Record<string, string>;
      const gql = graphQLRunner(yoga, requestId);
      let cachedBody: Promise<Record<string, unknown>> | null = null;
      const isMultipart = String(req.headers['content-type'] ?? '')
        .toLowerCase()
        .startsWith('multipart/form-data');
      const spec = routeSpec(method === 'HEAD' ? 'GET' : method, found.path);
      if (spec?.query) {
        const checked = spec.query.safeParse(Object.fromEntries(url.searchParams));
        if (!checked.success) throw invalid(checked.error, 'query');
      }
      const readValidBody = async (): Promise<Record<string, unknown>> => {
        const fields = await readFields(req);
        const checked = spec?.body?.safeParse(fields);
        if (checked && !checked.success) throw invalid(checked.error, 'body');
        return fields;
      };
      const ctx: routes.RouteContext = {
        req,
        url,
        params,
        gql,
        body: () => (cachedBody ??= readValidBody()),
        ...(isMultipart ? { multipart: () => readMultipart(req, config, 'the form') } : {}),
        pretrained,
      };

      if (handler === 'index') {
        const accept = String(req.headers.accept ?? '');
        if (accept.includes('text/html')) {
          const html = indexHtml();
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
          res.end(html);
          return;
        }
        sendSuccess(res, homeData());
        return;
      }
      if (handler === 'openapi') {
        sendJson(res, 200, openApiDocument());
        return;
      }
      if (handler === 'docs') {
        const html = docsHtml();
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
        res.end(html);
        return;
      }
      if (handler === 'upload' || handler === 'upload-csv') {
        const form = await readMultipart(req, config, 'the CSV with the field "file"');
        const file = form.get('file');
        if (!(file instanceof Blob))
          throw new HttpError(400, 'BAD_USER_INPUT', 'The multipart field "file" is missing.', {}, 'file');
        const sessionId = handler === 'upload-csv' ? formString(form, 'session_id') : null;
        if (sessionId) await routes.requireSessionExists(ctx, sessionId);
        const { uploadDataset } = await gql<{ uploadDataset: routes.UploadedDataset }>(
          routes.UPLOAD_MUTATION,
          { name: formString(form, 'name'), label: formString(form, 'label_column', 'labelColumn') },
          { name: file.name || 'upload.csv', blob: file, variable: 'file' },
        );
        if (handler === 'upload-csv') {
          const result = await routes.uploadCsvResult(ctx, uploadDataset, sessionId);
          sendSuccess(res, result.data, result.status ?? 200);
          return;
        }
        sendSuccess(
          res,
          {
            dataset_id: uploadDataset.id,
            dataset: uploadDataset,
            filename: uploadDataset.originalFileName,
            file_size: uploadDataset.sizeBytes,
            uploaded_at: uploadDataset.createdAt,
          },
          201,
        );
        return;
      }
      if (handler === 'csv') {
        const batch = services.predictions.get(params.id);
        if (!batch) throw new HttpError(404, 'NOT_FOUND', `Prediction "${params.id}" was not found.`);
        res.writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="${batch.id}.csv"`,
        });
        for (const chunk of services.predictions.csv(batch)) {
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
        return;
      }
      const result = await handler(ctx);
      if (found.successFlag) sendJson(res, result.status ?? 200, { success: true, ...result.data });
      else sendSuccess(res, result.data, result.status ?? 200, result.top);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const successFlag = found?.successFlag === true;
      const send = (
        status: number,
        code: string,
        message: string,
        extra: Record<string, unknown>,
        headers: Record<string, string> = {},
      ) => {
        successFlag
          ? sendJson(res, status, { success: false, error: message, code, ...extra }, headers)
          : sendError(res, status, code, message, extra, headers);
      };
      if (error instanceof HttpError) {
        send(error.status, error.code, error.message, error.field ? { field: error.field } : {}, error.headers);
        if (error.status === 413) req.resume();
        return;
      }
      logger.error('unexpected error in a REST route', { requestId, err: error, path: url.pathname });
      send(500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.', {});
    }
  };
}
