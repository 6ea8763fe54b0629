/// <reference lib="dom" />
/**
 * Results of a run: metrics beside the majority baseline, per-class figures, and the charts (confusion matrix,
 * ROC and PR per class, calibration, feature importance), each also linked as its server-rendered SVG image.
 */
import {
  calibrationChart,
  confusionChart,
  curveChart,
  importanceChart,
  readCalibration,
  type PlotName,
} from '../charts.js';
import { RunResultsQuery, type RunResults } from '../documents.js';
import { errorText, request } from './api.js';
import { card, fmt, h, replace, seconds } from './dom.js';

export interface ResultsView {
  element: HTMLElement;
  show(runId: string): Promise<RunResults | null>;
}

function figure(
  runId: string,
  name: PlotName,
  title: string,
  chart: SVGSVGElement | HTMLElement,
  wide = false,
): HTMLElement {
  return h(
    'figure',
    { id: `chart-${name}`, 'data-chart': name, class: wide ? 'wide' : null },
    h(
      'figcaption',
      {},
      title,
      h('a', { href: `/api/runs/${runId}/plots/${name}.svg`, 'aria-label': `${title} as an SVG image` }, 'SVG'),
    ),
    chart,
  );
}

function metricsTable(run: RunResults): HTMLElement {
  const m = run.metrics;
  if (!m) return h('p', {}, 'No metrics.');
  const rows: [string, number | null, number | null][] = [
    ['accuracy', m.accuracy, m.majorityBaselineAccuracy],
    ['macro F1', m.macroF1, m.majorityBaselineMacroF1],
    ['balanced accuracy', m.balancedAccuracy, null],
    ['macro precision', m.macroPrecision, null],
    ['macro recall', m.macroRecall, null],
    ['ROC AUC (one vs rest)', m.rocAucOvr, null],
    ['PR AUC (macro)', m.prAucMacro, null],
    ['log loss', m.logLoss, null],
    ['Brier score', m.brierScore, null],
  ];
  return h(
    'table',
    { id: 'metrics' },
    h('caption', { class: 'muted' }, `Held-out test split: ${m.numSamples} rows, grouped by star.`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'metric'),
        h('th', { scope: 'col', class: 'num' }, 'model'),
        h('th', { scope: 'col', class: 'num' }, 'majority baseline'),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map(([name, value, baseline]) =>
        h(
          'tr',
          { 'data-metric': name },
          h('th', { scope: 'row' }, name),
          h('td', { class: 'num' }, fmt(value)),
          h('td', { class: 'num' }, baseline === null ? '' : fmt(baseline)),
        ),
      ),
    ),
  );
}

function perClassTable(run: RunResults): HTMLElement | null {
  const m = run.metrics;
  if (!m) return null;
  return h(
    'table',
    { id: 'per-class' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['class', 'precision', 'recall', 'F1', 'ROC AUC', 'PR AUC', 'support'].map((c, i) =>
          h('th', { scope: 'col', class: i ? 'num' : null }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      m.perClass.map((c) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, c.label),
          [c.precision, c.recall, c.f1, c.rocAuc, c.prAuc].map((v) => h('td', { class: 'num' }, fmt(v))),
          h('td', { class: 'num' }, c.support),
        ),
      ),
    ),
  );
}

export function resultsView(): ResultsView {
  const body = h('div', { id: 'results-body' }, h('p', { class: 'muted' }, 'Results appear when a run succeeds.'));
  const element = card('results', 'Results', body);

  function render(run: RunResults): void {
    const width = Math.min(640, Math.max(300, (body.clientWidth || 900) / 2 - 20));
    const chart = { document, width };
    const m = run.metrics;
    const head = h(
      'p',
      { id: 'results-summary' },
      `Run ${run.id}: ${run.modelType} on ${run.datasetId}, ${run.status.toLowerCase()}`,
      run.timings ? ` in ${seconds(run.timings.totalSeconds)} (fit ${seconds(run.timings.fitSeconds)})` : '',
      run.splitCounts
        ? ` · split ${run.splitCounts.train} / ${run.splitCounts.validation} / ${run.splitCounts.test} rows`
        : '',
      '.',
    );
    const warnings = [
      ...(run.usesVettingFeatures
        ? ['This run used vetting (leakage) columns: its scores are not a fair estimate.']
        : []),
      ...run.warnings,
    ].map((w) => h('p', { class: 'warn' }, w));
    if (!m) {
      replace(body, head, warnings, run.error ? h('p', { class: 'error' }, run.error) : null);
      return;
    }
    const areas = (kind: 'roc' | 'pr') =>
      new Map(m.perClass.map((c) => [c.label, kind === 'roc' ? c.rocAuc : c.prAuc]));
    const calibration = readCalibration(m.calibration);
    const figures = [
      figure(run.id, 'confusion', 'Confusion matrix (rows: actual)', confusionChart(m.confusionMatrix, chart)),
      figure(run.id, 'roc', 'ROC curves, one class vs the rest', curveChart('roc', m.rocCurves, chart, areas('roc'))),
      figure(run.id, 'pr', 'Precision-recall curves', curveChart('pr', m.prCurves, chart, areas('pr'))),
      calibration
        ? figure(run.id, 'calibration', 'Calibration (reliability)', calibrationChart(calibration, chart))
        : null,
      run.featureImportance?.length
        ? figure(
            run.id,
            'importance',
            'Feature importance',
            importanceChart(run.featureImportance, { document, width: Math.min(900, (body.clientWidth || 900) - 10) }),
            true,
          )
        : null,
    ];
    replace(
      body,
      head,
      warnings,
      h('div', { class: 'grid' }, metricsTable(run), perClassTable(run)),
      h('div', { class: 'grid' }, figures),
    );
  }

  return {
    element,
    async show(runId) {
      replace(body, h('p', { class: 'muted' }, `Loading run ${runId}…`));
      try {
        const { trainingRun } = await request(RunResultsQuery, { runId });
        if (!trainingRun) {
          replace(body, h('p', { class: 'error' }, `Run ${runId} not found.`));
          return null;
        }
        render(trainingRun);
        element.dataset.runId = runId;
        return trainingRun;
      } catch (error) {
        replace(body, h('p', { class: 'error', role: 'alert' }, errorText(error)));
        return null;
      }
    },
  };
}
