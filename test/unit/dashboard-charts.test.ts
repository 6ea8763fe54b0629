/**
 * The dashboard's chart functions rendered on the server's light DOM (linkedom), as the SVG images are: each chart
 * is one <svg> carrying the numbers it was given; a run without the figures a plot needs is refused with a reason.
 */
import { describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import {
  calibrationChart,
  confusionChart,
  curveChart,
  importanceChart,
  lossChart,
  paceChart,
  readCalibration,
  waterfallChart,
} from '../../src/dashboard/charts.js';
import { PlotUnavailable, renderRunPlot } from '../../src/dashboard/svg.js';
import type { RunResults } from '../../src/dashboard/documents.js';

const { document } = parseHTML('<!doctype html><html><body></body></html>');
const chart = { document, width: 500 };

const texts = (svg: SVGSVGElement) => [...svg.querySelectorAll('text')].map((t) => t.textContent);

describe('chart functions on linkedom', () => {
  it('draws the confusion matrix with every count and its row share', () => {
    const svg = confusionChart(
      {
        labels: ['false_positive', 'planet'],
        matrix: [
          [30, 10],
          [5, 55],
        ],
      },
      chart,
    );
    expect(svg.tagName.toLowerCase()).toBe('svg');
    expect(svg.getAttribute('aria-label')).toBe('Confusion matrix');
    // Each cell: the count, then its share of the true class (30 of 40 false positives = 75 %, …).
    expect(texts(svg)).toEqual(expect.arrayContaining(['3075%', '1025%', '58%', '5592%']));
  });

  it('draws one curve per class with its AUC in the legend', () => {
    const curves = [
      { label: 'planet', x: [0, 0.1, 1], y: [0, 0.8, 1] },
      { label: 'false_positive', x: [0, 0.3, 1], y: [0, 0.6, 1] },
    ];
    const svg = curveChart(
      'roc',
      curves,
      chart,
      new Map([
        ['planet', 0.912345],
        ['false_positive', 0.7],
      ]),
    );
    const legend = texts(svg).join(' ');
    expect(legend).toContain('planet (ROC AUC 0.912)');
    expect(legend).toContain('false_positive (ROC AUC 0.700)');
    // Two class curves and the chance diagonal.
    expect(svg.querySelectorAll('[stroke-dasharray]').length).toBe(1);
    expect(svg.querySelectorAll('g[aria-label="line"] path').length).toBe(3);
  });

  it('draws loss and validation series, and the pace of models without a loss', () => {
    const svg = lossChart(
      [
        { step: 1, loss: 1.0, valLoss: 1.1, valAccuracy: null },
        { step: 2, loss: 0.8, valLoss: 0.95, valAccuracy: null },
        { step: 3, loss: 0.7, valLoss: 0.9, valAccuracy: null },
      ],
      chart,
    );
    const legend = texts(svg);
    expect(legend).toContain('training loss');
    expect(legend).toContain('validation loss');
    expect(legend).not.toContain('validation accuracy');
    const pace = paceChart(
      [
        { seconds: 0, step: 0 },
        { seconds: 1.5, step: 10 },
      ],
      30,
      chart,
    );
    expect(pace.getAttribute('aria-label')).toBe('Training pace');
  });

  it('draws the waterfall from the base value through the largest contributions to the output', () => {
    const svg = waterfallChart(
      {
        label: 'planet',
        baseValue: 0.4,
        output: 0.75,
        outputSpace: 'PROBABILITY',
        contributions: [
          { feature: 'koi_prad', value: 2.26, contribution: 0.3 },
          { feature: 'koi_period', value: 9.488, contribution: -0.05 },
          { feature: 'koi_teq', value: null, contribution: 0.1 },
        ],
      },
      chart,
    );
    const labels = texts(svg);
    const order = ['base value', 'koi_prad = 2.26', 'koi_teq = missing', 'koi_period = 9.488', 'output (planet)'];
    expect(order.map((l) => labels.indexOf(l)).every((i, k, all) => i >= 0 && (k === 0 || i > all[k - 1]))).toBe(true);
    expect(labels).toContain('+0.300');
    expect(labels).toContain('-0.050');
    expect(labels).toContain('0.750');
  });

  it('scales the permutation interval like its share and draws both importances', () => {
    const svg = importanceChart(
      [
        { feature: 'a', importance: 0.6, permutationImportance: 0.8, permutationMean: 0.04, permutationCi95: 0.01 },
        { feature: 'b', importance: 0.4, permutationImportance: 0.2, permutationMean: 0.01, permutationCi95: null },
      ],
      chart,
    );
    // One error bar (b has no interval), 0.8 ± 0.2 in share units.
    const rules = [...svg.querySelectorAll('g[aria-label="rule"] line')];
    expect(rules.length).toBeGreaterThanOrEqual(1);
    expect(texts(svg)).toContain('permutation (95 % interval)');
  });

  it('reads the calibration JSON and refuses another shape', () => {
    const calibration = readCalibration({
      topClass: [{ lower: 0.5, upper: 0.6, count: 10, meanPredicted: 0.55, observed: 0.5 }],
      expectedCalibrationError: 0.04,
      perClass: [{ label: 'planet', bins: [{ lower: 0, upper: 0.1, count: 3, meanPredicted: 0.05, observed: null }] }],
    });
    expect(calibration?.perClass[0].bins[0].observed).toBeNull();
    if (!calibration) throw new Error('unreadable');
    expect(texts(calibrationChart(calibration, chart))).toContain('top class (confidence), ECE 0.040');
    expect(readCalibration({ topClass: 'no' })).toBeNull();
    expect(readCalibration(null)).toBeNull();
  });
});

describe('renderRunPlot', () => {
  const run: RunResults = {
    id: 'run_1',
    status: 'RUNNING',
    error: null,
    modelType: 'random_forest',
    datasetId: 'kepler',
    hyperparameters: {},
    usesVettingFeatures: false,
    warnings: [],
    features: ['koi_prad'],
    createdAt: '2026-01-01T00:00:00Z',
    splitCounts: null,
    timings: null,
    history: [{ step: 1, loss: null, valLoss: null, valAccuracy: null }],
    metrics: null,
    featureImportance: null,
  };

  it('refuses what a run cannot draw yet, saying why', () => {
    expect(() => renderRunPlot(run, 'roc')).toThrow(PlotUnavailable);
    expect(() => renderRunPlot(run, 'roc')).toThrow('needs a SUCCEEDED run');
    expect(() => renderRunPlot(run, 'loss')).toThrow('has no loss curve (yet)');
  });

  it('writes a standalone SVG document with its own background', () => {
    const svg = renderRunPlot(
      { ...run, history: [{ step: 1, loss: 0.9, valLoss: 1, valAccuracy: null }] },
      'loss',
      800,
    );
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain('width="800"');
    expect(svg).toContain('background:white');
  });
});
