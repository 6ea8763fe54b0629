/**
 * The REST compatibility layer: route table, CORS, the envelope. Every route runs typed GraphQL operations
 * in-process (routes/*); the CSV download streams from the predictions service. Errors are AppErrors, written by
 * the one envelope writer (errors.ts); anything else is logged and answered 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Yoga } from '../http/graphql-app.js';
import { requestIdOf } from '../http/request-id.js';
import type { AppConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services/container.js';
import { AppError, badInput, notFound, requestBodyTooLarge } from '../domain/errors.js';
import { APP_VERSION } from '../version.js';
import type { Handler, RouteContext } from './context.js';
import { sendErrorEnvelope, appErrorFromGraphQL } from './errors.js';
import { inProcessExecutor } from './graphql-client.js';
import {
  MULTIPART_ALLOWANCE,
  MULTIPART_PARTS,
  corsHeaders,
  mediaType,
  multipartReader,
  notMultipart,
  readFields,
  sendHtml,
  sendJson,
  sendSuccess,
} from './http.js';
import { readMultipartStream } from '../http/multipart-stream.js';
import { HOME, ORIGINAL_MODELS } from './original.js';
import { browserOriginAllowed } from '../http/cors.js';
import * as sessions from './routes/sessions.js';
import * as training from './routes/training.js';
import * as predictions from './routes/predictions.js';
import * as catalog from './routes/catalog.js';
import * as uploads from './routes/uploads.js';
import { getReady } from './routes/ready.js';
import * as custom from './routes/custom.js';
import { z } from 'zod';
import { ROUTE_SPECS, routeSpec } from './spec/index.js';
import { openApiDocument } from './openapi.js';
import { docsHtml } from './docs.js';
import { callerInputOf } from '../http/context.js';
import { Caller } from '../services/owners.js';

export interface RestDeps {
  yoga: Yoga;
  config: AppConfig;
  logger: Logger;
  services: Services;
  corsOrigin: (origin: string | null) => string | null;
}

type Method = 'GET' | 'POST' | 'DELETE';
type Special = 'index' | 'csv' | 'openapi' | 'docs';

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
  route('/select', { GET: sessions.getSelect, POST: sessions.postSelect }, { noHead: true }),
  route('/training', { GET: training.getTraining, POST: training.postTraining }),
  route('/predict', { GET: predictions.getPredict, POST: predictions.postPredict }),
  route('/result', { GET: predictions.getResult, POST: predictions.postResult }),
  route('/api/datasets', { GET: catalog.getDatasets }),
  route('/api/datasets/<id>', { DELETE: catalog.deleteDataset }),
  route('/api/models', { GET: catalog.getModels }),
  route('/api/hyperparameters/<model_type>', { GET: catalog.getHyperparameters }),
  route('/api/health', { GET: catalog.getHealth }),
  route('/api/ready', { GET: getReady }),
  route('/api/frontend-status', { GET: catalog.getFrontendStatus }),
  route('/api/upload', { POST: uploads.postUpload }),
  route('/api/upload-csv', { POST: uploads.postUploadCsv }),
  route('/api/sessions/<id>', { GET: sessions.getSession, DELETE: sessions.deleteSession }),
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
    if (!routeSpec(method, r.path)) throw new Error(`REST route ${method} ${r.path} has no spec in spec/`);
}
for (const spec of ROUTE_SPECS) {
  if (!ROUTES.some((r) => r.path === spec.path && spec.method in r.methods))
    throw new Error(`spec ${spec.method} ${spec.path} has no route`);
}

/** The first zod issue as the REST layer's 400, naming the field. */
function invalid(error: z.ZodError, where: string): AppError {
  const issue = error.issues[0];
  const field = issue.path.map(String).join('.') || where;
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  const message = missing
    ? `"${field}" is required.`
    : issue.code === 'invalid_value'
      ? issue.message
      : `"${field}": ${issue.message}`;
  return badInput(message, field);
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
<p><a href="/app">Open the dashboard</a>: train a model, watch it learn, see its results and explanations.</p>
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

/** An error as the REST envelope reports it: an AppError, a coded GraphQL error, or null (unexpected). */
function appErrorOf(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  // Services still throwing coded GraphQL errors (the CSV route calls a service directly).
  if (error instanceof Error && error.name === 'GraphQLError' && 'extensions' in error) {
    const { extensions } = error;
    return appErrorFromGraphQL({ message: error.message, extensions: isRecord(extensions) ? extensions : {} });
  }
  return null;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

export function createRestHandler(deps: RestDeps) {
  const { yoga, config, logger, services } = deps;
  const pretrained = custom.createPretrainedState();
  const readMultipart = multipartReader(config.maxUploadBytes);

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
      sendErrorEnvelope(res, 'original', new AppError('BAD_REQUEST', 'Malformed URL.'));
      return;
    }
    const found = ROUTES.find((r) => r.pattern.test(url.pathname));
    let caller: Caller | null = null;
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
                'access-control-allow-headers':
                  req.headers['access-control-request-headers'] ?? 'content-type, x-request-id',
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
        throw new AppError(
          'FORBIDDEN',
          `Requests that change state are not accepted from the origin ${String(req.headers.origin).slice(0, 100)} (not in CORS_ORIGINS).`,
        );
      }
      if (!found)
        throw new AppError(
          'NOT_FOUND',
          `No route ${method} ${url.pathname}. See GET / or /docs for the endpoints, or /graphql.`,
        );
      const handler =
        found.methods[method as Method] ?? (method === 'HEAD' && !found.noHead ? found.methods.GET : undefined);
      if (!handler)
        throw new AppError(
          'METHOD_NOT_ALLOWED',
          `${method} is not allowed on ${url.pathname}; allowed: ${allowed.join(', ')}.`,
          { allowed },
        );
      // The caller, as /graphql resolves it (a forged token is 401 here too); every operation below runs as it.
      caller = services.owners.resolve(callerInputOf(req));
      const params = url.pathname.match(found.pattern)?.groups ?? {};
      const spec = routeSpec(method === 'HEAD' ? 'GET' : method, found.path);
      if (spec?.query) {
        const checked = spec.query.safeParse(Object.fromEntries(url.searchParams));
        if (!checked.success) throw invalid(checked.error, 'query');
      }
      const readValidBody = async (): Promise<Record<string, unknown>> => {
        const fields = await readFields(req, config.maxJsonBodyBytes);
        const checked = spec?.body?.safeParse(fields);
        if (checked && !checked.success) throw invalid(checked.error, 'body');
        return fields;
      };
      let cachedBody: Promise<Record<string, unknown>> | null = null;
      const ctx: RouteContext = {
        req,
        url,
        params,
        execute: inProcessExecutor(yoga, requestId, caller),
        executeAsServer: inProcessExecutor(yoga, requestId, Caller.server()),
        body: () => (cachedBody ??= readValidBody()),
        isMultipart: mediaType(req) === 'multipart/form-data',
        form: (what) => readMultipart(req, what),
        streamForm: async (what, fileField) => {
          if (mediaType(req) !== 'multipart/form-data') throw notMultipart(what);
          // As the whole-form reader: a body declared too large is refused before any of it is read.
          if (Number(req.headers['content-length'] ?? 0) > config.maxUploadBytes + MULTIPART_ALLOWANCE)
            throw requestBodyTooLarge(config.maxUploadBytes);
          const form = await readMultipartStream(
            req,
            { fileSize: config.maxUploadBytes, ...MULTIPART_PARTS },
            fileField,
          );
          res.once('close', form.discard);
          return form;
        },
        pretrained,
      };

      if (handler === 'index') {
        if ((req.headers.accept ?? '').includes('text/html')) sendHtml(res, indexHtml());
        else sendSuccess(res, homeData());
        return;
      }
      if (handler === 'openapi') {
        sendJson(res, 200, openApiDocument());
        return;
      }
      if (handler === 'docs') {
        sendHtml(res, docsHtml());
        return;
      }
      if (handler === 'csv') {
        const batch = await services.predictions.get(caller, params.id);
        if (!batch) throw notFound('Prediction', params.id);
        res.writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="${batch.id}.csv"`,
        });
        for await (const chunk of services.predictions.csv(batch)) {
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
        return;
      }
      const result = await handler(ctx);
      // A token minted by this request: in the headers and the body (`owner_token`), for curl and scripts to keep.
      for (const [name, value] of Object.entries(services.owners.responseHeaders(caller))) res.setHeader(name, value);
      const data = caller.minted ? { ...result.data, owner_token: caller.minted.token } : result.data;
      if (found.successFlag) sendJson(res, result.status ?? 200, { success: true, ...data });
      else sendSuccess(res, data, result.status ?? 200, result.top);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // The token of an owner minted before the failure still owns what was made (the client may keep it).
      if (caller)
        for (const [name, value] of Object.entries(services.owners.responseHeaders(caller))) res.setHeader(name, value);
      const appError = appErrorOf(error);
      if (!appError) logger.error('unexpected error in a REST route', { requestId, err: error, path: url.pathname });
      sendErrorEnvelope(res, found?.successFlag ? 'success-flag' : 'original', appError);
      if (appError?.code === 'PAYLOAD_TOO_LARGE') req.resume();
    }
  };
}
