/**
 * Server-side rendering of the dashboard's charts: the same chart functions as the browser, given linkedom's
 * document (a light DOM: Plot only creates and appends elements), serialised as a standalone SVG file.
 */
import { parseHTML } from 'linkedom';
import {
  calibrationChart,
  confusionChart,
  curveChart,
  hasFigures,
  importanceChart,
  lossChart,
  readCalibration,
  type PlotName,
} from './charts.js';
import type { RunResults } from './documents.js';

let shared: Document | null = null;

function serverDocument(): Document {
  // One document serves every render: Plot creates detached elements and never attaches them.
  shared ??= parseHTML('<!doctype html><html><head></head><body></body></html>').document;
  return shared;
}

/** Why a plot cannot be drawn for this run (yet): the HTTP layer answers 409. */
export class PlotUnavailable extends Error {
  override readonly name = 'PlotUnavailable';
}

/** One chart of a run as an SVG document (UTF-8 text). */
export function renderRunPlot(run: RunResults, name: PlotName, width = 640): string {
  const chart = { document: serverDocument(), width };
  const metrics = run.metrics;
  let svg: SVGSVGElement;
  if (name === 'loss') {
    if (!run.history.some(hasFigures))
      throw new PlotUnavailable(
        `Training run ${run.id} (${run.modelType}) has no loss curve${run.status === 'SUCCEEDED' ? ': the model reports no loss or validation figures per step' : ' (yet)'}.`,
      );
    svg = lossChart(run.history, chart);
  } else if (!metrics) {
    throw new PlotUnavailable(`Training run ${run.id} is ${run.status}: the ${name} plot needs a SUCCEEDED run.`);
  } else if (name === 'roc' || name === 'pr') {
    const areas = new Map(metrics.perClass.map((c) => [c.label, name === 'roc' ? c.rocAuc : c.prAuc]));
    svg = curveChart(name, name === 'roc' ? metrics.rocCurves : metrics.prCurves, chart, areas);
  } else if (name === 'calibration') {
    const calibration = readCalibration(metrics.calibration);
    if (!calibration) throw new PlotUnavailable(`Training run ${run.id} has no calibration bins.`);
    svg = calibrationChart(calibration, chart);
  } else if (name === 'confusion') {
    svg = confusionChart(metrics.confusionMatrix, chart);
  } else {
    if (!run.featureImportance?.length) throw new PlotUnavailable(`Training run ${run.id} has no feature importance.`);
    svg = importanceChart(run.featureImportance, chart);
  }
  svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  // Readable on dark pages too (a README, a notebook): the image brings its own background.
  svg.setAttribute('style', `${svg.getAttribute('style') ?? ''};background:white;color:black`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.outerHTML}\n`;
}
