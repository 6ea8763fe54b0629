/// <reference lib="dom" />
/**
 * The dashboard at /app: one session per browser (kept in localStorage, so a reload keeps the run history),
 * the views wired together. It speaks to the public GraphQL API only.
 */
import { CatalogQuery, CreateSessionMutation, SessionRunsQuery } from '../documents.js';
import { errorText, request } from './api.js';
import type { AppContext } from './context.js';
import { h, replace } from './dom.js';
import { historyView } from './history.js';
import { liveView } from './live.js';
import { resultsView } from './results.js';
import { trainView } from './train.js';
import { useView } from './use.js';

const SESSION_KEY = 'exoplanet-dashboard:session';

async function session(): Promise<string> {
  const stored = localStorage.getItem(SESSION_KEY);
  if (stored) {
    const { session: found } = await request(SessionRunsQuery, { sessionId: stored });
    if (found) return stored;
  }
  const { createSession } = await request(CreateSessionMutation, {});
  localStorage.setItem(SESSION_KEY, createSession.id);
  return createSession.id;
}

async function boot(root: HTMLElement): Promise<void> {
  const [catalogResult, sessionId] = await Promise.all([request(CatalogQuery, {}), session()]);
  const ctx: AppContext = {
    catalog: catalogResult,
    sessionId,
    watch: (runId) => {
      live.watch(runId);
    },
    finished: (runId, status) => {
      train.setActiveRun(null);
      void history.reload();
      if (status === 'SUCCEEDED') void showResults(runId);
    },
    showResults: (runId) => void showResults(runId),
    reloadCatalog: async () => {
      ctx.catalog = await request(CatalogQuery, {});
    },
  };
  const train = trainView(ctx);
  const live = liveView(ctx, (active) => {
    train.setActiveRun(active ? live.activeRun() : null);
  });
  const results = resultsView();
  const history = historyView(ctx);
  const use = useView(ctx);
  async function showResults(runId: string): Promise<void> {
    const run = await results.show(runId);
    use.setRun(run);
  }
  replace(root, train.element, live.element, results.element, history.element, use.element);
  root.dataset.ready = 'true';
  await history.reload();
}

const root = document.getElementById('app');
if (root) {
  boot(root).catch((error: unknown) => {
    replace(root, h('p', { class: 'error', role: 'alert' }, `The dashboard could not start: ${errorText(error)}`));
  });
}
