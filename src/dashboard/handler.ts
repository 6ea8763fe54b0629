/**
 * The dashboard's HTTP routes: the page at /app, its bundled script, and every chart of a run as an SVG image at
 * /api/runs/<id>/plots/<name>.svg (rendered by the same chart code as the page). The images read the run through
 * the public GraphQL schema, in-process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResultOf } from '../client/graphql.js';
import { dashboardBundle } from './bundle.js';
import { isPlotName, PLOT_NAMES } from './charts.js';
import { documentText, RunResultsQuery } from './documents.js';
import { dashboardPage } from './page.js';
import { PlotUnavailable, renderRunPlot } from './svg.js';

/** What the handler needs of yoga: its fetch (yoga.fetch fits). */
export interface GraphQLFetcher {
  fetch(input: string, init: RequestInit): Response | Promise<Response>;
}

export interface DashboardDeps {
  yoga: GraphQLFetcher;
  /** Unexpected failures (a failed bundle build, a GraphQL error) are logged here and answered 500. */
  logError?: (message: string, meta: Record<string, unknown>) => void;
}

export const APP_PATH = '/app';
const SCRIPT_PATH = '/app/dashboard.js';
const PLOT_PATTERN = /^\/api\/runs\/(?<id>[^/]+)\/plots\/(?<name>[^/]+)\.svg$/;

function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  // The REST layer's error shape, so a curl user sees one format.
  const text = JSON.stringify({ status: 'error', error: message, code });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function send(req: IncomingMessage, res: ServerResponse, body: Buffer | string, headers: Record<string, string>): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(200, { ...headers, 'content-length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Reads a run's results through /graphql (in-process), as any client would. */
async function fetchRun(
  deps: DashboardDeps,
  runId: string,
  requestId: string,
): Promise<NonNullable<ResultOf<typeof RunResultsQuery>['trainingRun']> | null> {
  const response = await deps.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ query: documentText(RunResultsQuery), variables: { runId } }),
  });
  const result = (await response.json()) as {
    data?: ResultOf<typeof RunResultsQuery> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  const error = result.errors?.[0];
  if (error) {
    if (error.extensions?.code === 'NOT_FOUND') return null;
    throw new Error(`RunResults failed: ${error.message}`);
  }
  return result.data?.trainingRun ?? null;
}

async function servePlot(
  deps: DashboardDeps,
  req: IncomingMessage,
  res: ServerResponse,
  runId: string,
  name: string,
  query: URLSearchParams,
): Promise<void> {
  if (!isPlotName(name)) {
    sendJsonError(res, 404, 'NOT_FOUND', `No plot named "${name}"; plots: ${PLOT_NAMES.join(', ')}.`);
    return;
  }
  const widthParam = query.get('width');
  const width = widthParam === null ? 640 : Number(widthParam);
  if (!Number.isInteger(width) || width < 240 || width > 2000) {
    sendJsonError(res, 400, 'BAD_USER_INPUT', `width must be an integer from 240 to 2000, got "${widthParam ?? ''}".`);
    return;
  }
  const run = await fetchRun(deps, runId, String(req.headers['x-request-id'] ?? ''));
  if (!run) {
    sendJsonError(res, 404, 'NOT_FOUND', `Training run ${runId} not found.`);
    return;
  }
  let svg: string;
  try {
    svg = renderRunPlot(run, name, width);
  } catch (error) {
    if (error instanceof PlotUnavailable) {
      sendJsonError(res, 409, 'CONFLICT', error.message);
      return;
    }
    throw error;
  }
  const finished = run.status === 'SUCCEEDED' || run.status === 'FAILED' || run.status === 'CANCELLED';
  send(req, res, svg, {
    'content-type': 'image/svg+xml; charset=utf-8',
    // A finished run never changes; a running run's loss curve does.
    'cache-control': finished ? 'public, max-age=3600' : 'no-store',
  });
}

async function serveScript(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const bundle = await dashboardBundle();
  if (req.headers['if-none-match'] === bundle.etag) {
    res.writeHead(304, { etag: bundle.etag });
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  send(req, res, gzip ? bundle.gzip : bundle.js, {
    'content-type': 'text/javascript; charset=utf-8',
    etag: bundle.etag,
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
}

/**
 * Returns a request handler that answers the dashboard's routes and returns true, or returns false (without
 * touching the response) for any other path.
 */
export function createDashboardHandler(deps: DashboardDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const plot = PLOT_PATTERN.exec(path);
    if (path !== APP_PATH && path !== `${APP_PATH}/` && path !== SCRIPT_PATH && !plot) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${path}.`);
      return true;
    }
    let work: Promise<void>;
    if (path === SCRIPT_PATH) work = serveScript(req, res);
    else if (plot?.groups)
      work = servePlot(
        deps,
        req,
        res,
        decodeURIComponent(plot.groups.id),
        decodeURIComponent(plot.groups.name),
        url.searchParams,
      );
    else {
      send(req, res, dashboardPage(), { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      return true;
    }
    work.catch((error: unknown) => {
      deps.logError?.('dashboard request failed', { path, error: String(error) });
      if (!res.headersSent) sendJsonError(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
      else res.destroy();
    });
    return true;
  };
}
