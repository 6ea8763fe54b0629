/// <reference lib="dom" />
/**
 * Every chart of the dashboard, as Observable Plot specs: the browser renders them into the page and the server
 * renders the same functions into SVG images (/api/runs/<id>/plots/<name>.svg) with a light DOM (linkedom). Charts
 * stay inside one <svg> (no HTML legend or caption), so the server's copy is a complete image.
 */
import * as Plot from '@observablehq/plot';

export interface ChartOptions {
  /** The document to create elements with: the page's, or linkedom's on the server. */
  document: Document;
  width?: number;
}

export interface HistoryPointData {
  step: number;
  loss: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
}

export interface CurveData {
  label: string;
  x: readonly number[];
  y: readonly number[];
}

export interface CalibrationBinData {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number | null;
  observed: number | null;
}

export interface CalibrationData {
  topClass: CalibrationBinData[];
  expectedCalibrationError: number | null;
  perClass: { label: string; bins: CalibrationBinData[] }[];
}

export interface ConfusionData {
  labels: readonly string[];
  matrix: readonly (readonly number[])[];
}

export interface ImportanceData {
  feature: string;
  importance: number;
  permutationImportance: number;
  permutationMean: number;
  permutationCi95: number | null;
}

export interface ExplanationData {
  label: string;
  baseValue: number;
  output: number;
  outputSpace: string;
  contributions: readonly { feature: string; value: number | null; contribution: number }[];
}

/** The three classes keep one colour everywhere; other labels (uploads) take the categorical scheme. */
const CLASS_COLOURS: Record<string, string> = {
  false_positive: '#c2410c',
  candidate: '#a16207',
  planet: '#0f766e',
};
const SCHEME = ['#4e79a7', '#f28e2c', '#e15759', '#76b7b2', '#59a14f', '#edc949', '#af7aa1', '#ff9da7'];

export function classColour(label: string, index: number): string {
  return CLASS_COLOURS[label] ?? SCHEME[index % SCHEME.length];
}

function colourScale(labels: readonly string[]): Plot.ScaleOptions {
  return { type: 'ordinal', domain: [...labels], range: labels.map(classColour) };
}

type LegendPlace = 'top-left' | 'bottom-right' | 'above';

/**
 * A legend drawn as marks (kept inside the SVG): in the top-left or bottom-right corner of the frame, or 'above' it,
 * right-aligned in the top margin (give the chart legendMargin(items) of margin then).
 */
function legendMarks(
  items: readonly { text: string; colour: string }[],
  place: LegendPlace,
  facet?: 'super',
): Plot.Markish[] {
  const anchor = place === 'above' ? 'top-right' : place;
  const left = place === 'top-left';
  return items.flatMap((item, i) => {
    const dy =
      place === 'top-left'
        ? 8 + i * 15
        : place === 'above'
          ? -10 - (items.length - 1 - i) * 15
          : -8 - (items.length - 1 - i) * 15;
    const dx = left ? 8 : place === 'above' ? 0 : -8;
    return [
      Plot.dot([0], { frameAnchor: anchor, dx: left ? dx + 4 : dx - 4, dy, r: 4, fill: item.colour, facet }),
      Plot.text([item.text], {
        frameAnchor: anchor,
        dx: left ? dx + 12 : dx - 12,
        dy,
        textAnchor: left ? 'start' : 'end',
        fontSize: 11,
        facet,
      }),
    ];
  });
}

function legendMargin(count: number): number {
  return 22 + count * 15;
}

/** Plot.plot without figure wrapping: always one <svg>. */
function render(options: Plot.PlotOptions, chart: ChartOptions, label: string): SVGSVGElement {
  const node = Plot.plot({
    width: chart.width ?? 640,
    style: { fontSize: '11px', overflow: 'visible' },
    ariaLabel: label,
    ...options,
    document: chart.document,
  });
  if (node.tagName.toLowerCase() !== 'svg') throw new Error(`the ${label} chart is not a single SVG`);
  node.setAttribute('role', 'img');
  return node as SVGSVGElement;
}

const SERIES = [
  { key: 'loss', name: 'training loss', colour: '#4e79a7' },
  { key: 'valLoss', name: 'validation loss', colour: '#e15759' },
  { key: 'valAccuracy', name: 'validation accuracy', colour: '#59a14f' },
] as const;

/** Loss and validation figures per tree, round or epoch (drawn live while the run trains). */
export function lossChart(
  history: readonly HistoryPointData[],
  chart: ChartOptions,
  stepLabel = 'step',
): SVGSVGElement {
  const points = SERIES.flatMap((series) =>
    history.flatMap((p) => {
      const value = p[series.key];
      return value === null || !Number.isFinite(value) ? [] : [{ step: p.step, value, series: series.name }];
    }),
  );
  const present = SERIES.filter((s) => points.some((p) => p.series === s.name));
  return render(
    {
      height: 260 + legendMargin(3),
      marginTop: legendMargin(3),
      x: { label: stepLabel, grid: true, domain: history.length > 0 ? undefined : [0, 1] },
      y: { label: 'value', grid: true, zero: true },
      color: { type: 'ordinal', domain: present.map((s) => s.name), range: present.map((s) => s.colour) },
      marks: [
        Plot.line(points, { x: 'step', y: 'value', stroke: 'series', strokeWidth: 2 }),
        Plot.dot(
          points.filter((p, i) => points[i + 1]?.series !== p.series),
          { x: 'step', y: 'value', fill: 'series', r: 3 },
        ),
        ...legendMarks(
          present.map((s) => ({ text: s.name, colour: s.colour })),
          'above',
        ),
      ],
    },
    chart,
    'Loss and validation curve',
  );
}

export interface PacePoint {
  /** Seconds since the training stage began. */
  seconds: number;
  step: number;
}

/** Steps done (trees, rounds, epochs) against time: the live curve of models that report no loss (forests). */
export function paceChart(
  points: readonly PacePoint[],
  totalSteps: number,
  chart: ChartOptions,
  stepLabel = 'steps done',
): SVGSVGElement {
  return render(
    {
      height: 260,
      marginTop: 16,
      x: { label: 'seconds since training began', grid: true, zero: true },
      y: { label: stepLabel, grid: true, domain: [0, Math.max(totalSteps, 1)] },
      marks: [
        Plot.ruleY([totalSteps], { stroke: '#999', strokeDasharray: '4,4' }),
        Plot.line(points, { x: 'seconds', y: 'step', stroke: '#4e79a7', strokeWidth: 2, curve: 'step-after' }),
        Plot.dot(points.slice(-1), { x: 'seconds', y: 'step', fill: '#4e79a7', r: 3 }),
      ],
    },
    chart,
    'Training pace',
  );
}

/** Whether a history point carries any figure (forests report none). */
export function hasFigures(point: HistoryPointData): boolean {
  return point.loss !== null || point.valLoss !== null || point.valAccuracy !== null;
}

function curvePoints(curves: readonly CurveData[]) {
  return curves.flatMap((curve) => curve.x.map((x, i) => ({ label: curve.label, x, y: curve.y[i] })));
}

/** ROC (false-positive vs true-positive rate) or PR (recall vs precision) curves, one per class vs the rest. */
export function curveChart(
  kind: 'roc' | 'pr',
  curves: readonly CurveData[],
  chart: ChartOptions,
  areas: ReadonlyMap<string, number | null> = new Map(),
): SVGSVGElement {
  const labels = curves.map((c) => c.label);
  const name = kind === 'roc' ? 'ROC AUC' : 'PR AUC';
  const legend = curves.map((c, i) => {
    const area = areas.get(c.label);
    return {
      text: area == null ? c.label : `${c.label} (${name} ${area.toFixed(3)})`,
      colour: classColour(c.label, i),
    };
  });
  return render(
    {
      height: 360 + (kind === 'pr' ? legendMargin(curves.length) : 0),
      marginTop: kind === 'pr' ? legendMargin(curves.length) : undefined,
      x: { label: kind === 'roc' ? 'false-positive rate' : 'recall', domain: [0, 1], grid: true },
      y: { label: kind === 'roc' ? 'true-positive rate' : 'precision', domain: [0, 1], grid: true },
      color: colourScale(labels),
      marks: [
        kind === 'roc'
          ? Plot.line(
              [
                [0, 0],
                [1, 1],
              ],
              { stroke: '#999', strokeDasharray: '4,4' },
            )
          : null,
        Plot.line(curvePoints(curves), { x: 'x', y: 'y', stroke: 'label', strokeWidth: 2, curve: 'step-after' }),
        ...legendMarks(legend, kind === 'roc' ? 'bottom-right' : 'above'),
      ],
    },
    chart,
    kind === 'roc' ? 'ROC curves' : 'Precision-recall curves',
  );
}

/** Reliability: mean predicted probability vs observed frequency per bin; the diagonal is perfect calibration. */
export function calibrationChart(calibration: CalibrationData, chart: ChartOptions): SVGSVGElement {
  const series = [
    { label: 'top class (confidence)', bins: calibration.topClass },
    ...calibration.perClass.map((c) => ({ label: c.label, bins: c.bins })),
  ];
  const labels = series.map((s) => s.label);
  const colours = labels.map((label, i) => (i === 0 ? '#333' : classColour(label, i - 1)));
  const points = series.flatMap((s) =>
    s.bins.flatMap((bin) =>
      bin.meanPredicted === null || bin.observed === null
        ? []
        : [{ label: s.label, predicted: bin.meanPredicted, observed: bin.observed, count: bin.count }],
    ),
  );
  const ece = calibration.expectedCalibrationError;
  return render(
    {
      height: 360,
      x: { label: 'mean predicted probability', domain: [0, 1], grid: true },
      y: { label: 'observed frequency', domain: [0, 1], grid: true },
      color: { type: 'ordinal', domain: labels, range: colours },
      r: { range: [2, 7] },
      marks: [
        Plot.line(
          [
            [0, 0],
            [1, 1],
          ],
          { stroke: '#999', strokeDasharray: '4,4' },
        ),
        Plot.line(points, { x: 'predicted', y: 'observed', stroke: 'label', strokeWidth: 1.5 }),
        Plot.dot(points, { x: 'predicted', y: 'observed', fill: 'label', r: 'count' }),
        ...legendMarks(
          series.map((s, i) => ({
            text: i === 0 && ece !== null ? `${s.label}, ECE ${ece.toFixed(3)}` : s.label,
            colour: colours[i],
          })),
          'top-left',
        ),
      ],
    },
    chart,
    'Calibration (reliability) curve',
  );
}

/** Counts per true (rows) and predicted (columns) class, shaded by the share of the true class. */
export function confusionChart(confusion: ConfusionData, chart: ChartOptions): SVGSVGElement {
  const cells = confusion.labels.flatMap((actual, i) => {
    const row = confusion.matrix[i];
    const total = row.reduce((a, b) => a + b, 0);
    return confusion.labels.map((predicted, j) => ({
      actual,
      predicted,
      count: row[j],
      share: total > 0 ? row[j] / total : 0,
    }));
  });
  const size = Math.min(chart.width ?? 640, 120 + confusion.labels.length * 110);
  return render(
    {
      width: size,
      height: 60 + confusion.labels.length * 80,
      marginLeft: 110,
      marginBottom: 44,
      padding: 0.04,
      x: { label: 'predicted', domain: [...confusion.labels] },
      y: { label: 'actual', domain: [...confusion.labels] },
      color: { type: 'linear', domain: [0, 1], range: ['#f1f5f9', '#0f766e'] },
      marks: [
        Plot.cell(cells, { x: 'predicted', y: 'actual', fill: 'share', inset: 0.5 }),
        Plot.text(cells, {
          x: 'predicted',
          y: 'actual',
          text: (d: (typeof cells)[number]) => `${d.count}\n${(d.share * 100).toFixed(0)}%`,
          fill: (d: (typeof cells)[number]) => (d.share > 0.55 ? 'white' : 'black'),
          fontSize: 12,
        }),
      ],
    },
    chart,
    'Confusion matrix',
  );
}

/**
 * The model's own importance and permutation importance side by side (both as shares of their total), the
 * permutation bars with their 95 % interval (scaled like the share).
 */
export function importanceChart(items: readonly ImportanceData[], chart: ChartOptions, top = 15): SVGSVGElement {
  const chosen = [...items]
    .sort((a, b) => Math.max(b.importance, b.permutationImportance) - Math.max(a.importance, a.permutationImportance))
    .slice(0, top);
  const rows = chosen.flatMap((item) => {
    // permutationImportance is permutationMean scaled to a share; the interval scales the same way.
    const scale = item.permutationMean !== 0 ? item.permutationImportance / item.permutationMean : 0;
    const ci = item.permutationCi95 === null ? null : Math.abs(item.permutationCi95 * scale);
    return [
      { feature: item.feature, kind: "model's own", value: item.importance, ci: null },
      { feature: item.feature, kind: 'permutation', value: item.permutationImportance, ci },
    ];
  });
  const errors = rows.filter((r) => r.ci !== null);
  return render(
    {
      height: 40 + chosen.length * 30,
      marginLeft: 150,
      marginTop: 36,
      x: { label: 'share of importance', grid: true },
      fy: { domain: chosen.map((c) => c.feature), label: null },
      y: { domain: ["model's own", 'permutation'], axis: null },
      color: { type: 'ordinal', domain: ["model's own", 'permutation'], range: ['#4e79a7', '#f28e2c'] },
      marks: [
        Plot.barX(rows, { fy: 'feature', y: 'kind', x: 'value', fill: 'kind' }),
        Plot.ruleY(errors, {
          fy: 'feature',
          y: 'kind',
          x1: (d: (typeof rows)[number]) => d.value - (d.ci ?? 0),
          x2: (d: (typeof rows)[number]) => d.value + (d.ci ?? 0),
          stroke: 'black',
        }),
        Plot.ruleX([0]),
        ...legendMarks(
          [
            { text: "model's own", colour: '#4e79a7' },
            { text: 'permutation (95 % interval)', colour: '#f28e2c' },
          ],
          'bottom-right',
          'super',
        ),
      ],
    },
    chart,
    'Feature importance',
  );
}

function formatValue(value: number | null): string {
  if (value === null) return 'missing';
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3) ? value.toExponential(2) : String(+value.toFixed(4));
}

/** base value → each contribution (largest first; the rest summed) → output. */
export function waterfallChart(explanation: ExplanationData, chart: ChartOptions, top = 12): SVGSVGElement {
  const sorted = [...explanation.contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const shown = sorted
    .slice(0, top)
    .map((c) => ({ name: `${c.feature} = ${formatValue(c.value)}`, value: c.contribution }));
  const rest = sorted.slice(top);
  if (rest.length > 0)
    shown.push({ name: `${rest.length} other features`, value: rest.reduce((sum, c) => sum + c.contribution, 0) });
  let running = explanation.baseValue;
  const steps = shown.map((s) => {
    const start = running;
    running += s.value;
    return { name: s.name, x1: start, x2: running, value: s.value, kind: s.value >= 0 ? 'raises' : 'lowers' };
  });
  const rows = [
    {
      name: 'base value',
      x1: explanation.baseValue,
      x2: explanation.baseValue,
      value: explanation.baseValue,
      kind: 'total',
    },
    ...steps,
    {
      name: `output (${explanation.label})`,
      x1: explanation.baseValue,
      x2: explanation.output,
      value: explanation.output,
      kind: 'total',
    },
  ];
  type Row = (typeof rows)[number];
  const space = explanation.outputSpace === 'MARGIN' ? 'margin (log-odds)' : 'probability';
  return render(
    {
      height: 40 + rows.length * 24,
      marginLeft: 200,
      marginRight: 60,
      x: { label: `${space} of ${explanation.label}`, grid: true },
      y: { domain: rows.map((r) => r.name), label: null },
      color: { type: 'ordinal', domain: ['raises', 'lowers', 'total'], range: ['#0f766e', '#c2410c', '#64748b'] },
      marks: [
        Plot.barX(rows, { y: 'name', x1: 'x1', x2: 'x2', fill: 'kind', insetTop: 3, insetBottom: 3 }),
        Plot.tickX(rows.slice(0, 1), { y: 'name', x: 'x1', stroke: '#64748b', strokeWidth: 3 }),
        Plot.text(rows, {
          y: 'name',
          x: (d: Row) => Math.max(d.x1, d.x2),
          text: (d: Row) =>
            d.kind === 'total' ? d.value.toFixed(3) : `${d.value >= 0 ? '+' : ''}${d.value.toFixed(3)}`,
          dx: 4,
          textAnchor: 'start',
        }),
      ],
    },
    chart,
    `Explanation of ${explanation.label}`,
  );
}

export const PLOT_NAMES = ['loss', 'roc', 'pr', 'calibration', 'confusion', 'importance'] as const;
export type PlotName = (typeof PLOT_NAMES)[number];

export function isPlotName(name: string): name is PlotName {
  return (PLOT_NAMES as readonly string[]).includes(name);
}

/** Narrows Metrics.calibration (a JSON field) to its documented shape; null when it is something else. */
export function readCalibration(value: unknown): CalibrationData | null {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const bins = (v: unknown): CalibrationBinData[] | null =>
    Array.isArray(v)
      ? v.filter(isRecord).map((b) => ({
          lower: num(b.lower) ?? 0,
          upper: num(b.upper) ?? 0,
          count: num(b.count) ?? 0,
          meanPredicted: num(b.meanPredicted),
          observed: num(b.observed),
        }))
      : null;
  if (!isRecord(value)) return null;
  const topClass = bins(value.topClass);
  if (!topClass || !Array.isArray(value.perClass)) return null;
  const perClass = value.perClass.filter(isRecord).map((c) => ({
    label: typeof c.label === 'string' ? c.label : '?',
    bins: bins(c.bins) ?? [],
  }));
  return { topClass, expectedCalibrationError: num(value.expectedCalibrationError), perClass };
}
