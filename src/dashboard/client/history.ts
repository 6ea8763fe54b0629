/// <reference lib="dom" />
/** The session's runs, newest first, and a side-by-side comparison of two of them. */
import type { ResultOf } from '../../client/graphql.js';
import { SessionRunsQuery } from '../documents.js';
import { errorText, request } from './api.js';
import type { AppContext } from './context.js';
import { card, fmt, h, replace } from './dom.js';

type Run = NonNullable<ResultOf<typeof SessionRunsQuery>['session']>['runs']['nodes'][number];
type MetricKey = keyof NonNullable<Run['metrics']>;

const METRICS: [MetricKey, string, 'higher' | 'lower'][] = [
  ['accuracy', 'accuracy', 'higher'],
  ['balancedAccuracy', 'balanced accuracy', 'higher'],
  ['macroF1', 'macro F1', 'higher'],
  ['rocAucOvr', 'ROC AUC', 'higher'],
  ['logLoss', 'log loss', 'lower'],
  ['majorityBaselineAccuracy', 'majority baseline accuracy', 'higher'],
];

export interface HistoryView {
  element: HTMLElement;
  reload(): Promise<void>;
}

function params(run: Run): string {
  const value = run.hyperparameters;
  if (typeof value !== 'object' || value === null) return '';
  return Object.entries(value as Record<string, unknown>)
    .slice(0, 4)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
}

export function historyView(ctx: Pick<AppContext, 'sessionId' | 'showResults'>): HistoryView {
  const list = h('div', { id: 'runs' }, h('p', { class: 'muted' }, 'No runs in this session yet.'));
  const comparison = h('div', { id: 'comparison', 'aria-live': 'polite' });
  const element = card('history', 'Run history and comparison', list, comparison);
  const chosen: string[] = [];
  let runs: Run[] = [];

  function compare(): void {
    const pair = chosen.map((id) => runs.find((r) => r.id === id)).filter((r): r is Run => r !== undefined);
    if (pair.length < 2) {
      replace(comparison, h('p', { class: 'muted' }, 'Tick two runs to compare them side by side.'));
      return;
    }
    const [a, b] = pair;
    replace(
      comparison,
      h(
        'table',
        { id: 'compare-table' },
        h('caption', {}, `Run ${a.id} vs run ${b.id}`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, ''),
            h('th', { scope: 'col', class: 'num' }, `${a.modelType} (${a.id})`),
            h('th', { scope: 'col', class: 'num' }, `${b.modelType} (${b.id})`),
            h('th', { scope: 'col', class: 'num' }, 'difference'),
          ),
        ),
        h(
          'tbody',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, 'dataset'),
            h('td', { class: 'num' }, a.datasetId),
            h('td', { class: 'num' }, b.datasetId),
            h('td', {}),
          ),
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, 'hyperparameters'),
            h('td', { class: 'num' }, params(a)),
            h('td', { class: 'num' }, params(b)),
            h('td', {}),
          ),
          METRICS.map(([key, name, better]) => {
            const x = a.metrics?.[key] ?? null;
            const y = b.metrics?.[key] ?? null;
            const diff = x !== null && y !== null ? y - x : null;
            const good =
              diff === null || diff === 0 ? '' : diff > 0 === (better === 'higher') ? ' (better)' : ' (worse)';
            return h(
              'tr',
              {},
              h('th', { scope: 'row' }, name),
              h('td', { class: 'num' }, fmt(x)),
              h('td', { class: 'num' }, fmt(y)),
              h('td', { class: 'num' }, diff === null ? '—' : `${diff >= 0 ? '+' : ''}${diff.toFixed(3)}${good}`),
            );
          }),
        ),
      ),
    );
  }

  function render(): void {
    if (runs.length === 0) {
      replace(list, h('p', { class: 'muted' }, 'No runs in this session yet.'));
      return;
    }
    replace(
      list,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['compare', 'run', 'model', 'dataset', 'status', 'accuracy', 'macro F1', 'ROC AUC', ''].map((c, i) =>
              h('th', { scope: 'col', class: i >= 5 && i < 8 ? 'num' : null }, c),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          runs.map((run) => {
            const box = h('input', {
              type: 'checkbox',
              'aria-label': `Compare run ${run.id}`,
              checked: chosen.includes(run.id),
              disabled: !run.metrics,
            });
            box.addEventListener('change', () => {
              const at = chosen.indexOf(run.id);
              if (box.checked && at === -1) chosen.push(run.id);
              if (!box.checked && at !== -1) chosen.splice(at, 1);
              while (chosen.length > 2) chosen.shift();
              render();
              compare();
            });
            const show = h('button', { type: 'button', class: 'secondary', disabled: !run.metrics }, 'Results');
            show.addEventListener('click', () => {
              ctx.showResults(run.id);
            });
            return h(
              'tr',
              { 'data-run-id': run.id },
              h('td', {}, box),
              h('td', {}, run.id),
              h('td', {}, run.modelType),
              h('td', {}, run.datasetId),
              h('td', {}, run.status),
              h('td', { class: 'num' }, fmt(run.metrics?.accuracy)),
              h('td', { class: 'num' }, fmt(run.metrics?.macroF1)),
              h('td', { class: 'num' }, fmt(run.metrics?.rocAucOvr)),
              h('td', {}, show),
            );
          }),
        ),
      ),
    );
  }

  return {
    element,
    async reload() {
      try {
        const { session } = await request(SessionRunsQuery, { sessionId: ctx.sessionId });
        runs = session?.runs.nodes ?? [];
        render();
        compare();
      } catch (error) {
        replace(list, h('p', { class: 'error', role: 'alert' }, errorText(error)));
      }
    },
  };
}
