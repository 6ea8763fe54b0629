/**
 * The dashboard's figures: the browser bundle (cold esbuild build time, bytes raw and gzip-compressed) and the
 * server-side SVG rendering of each chart on linkedom, with data the size of a Kepler run (ROC/PR curves of the
 * 1,913-row test split, 41 features). Prints; asserts nothing.
 */
import { gzipSync } from 'node:zlib';
import { parseHTML } from 'linkedom';
import { buildBundle } from '../src/dashboard/bundle.js';
import {
  calibrationChart,
  confusionChart,
  curveChart,
  importanceChart,
  lossChart,
  waterfallChart,
} from '../src/dashboard/charts.js';

const started = performance.now();
const js = await buildBundle();
const buildMs = performance.now() - started;
console.log(
  `bundle: ${(js.length / 1024).toFixed(1)} KiB minified, ${(gzipSync(js, { level: 9 }).length / 1024).toFixed(1)} KiB gzip, cold build ${buildMs.toFixed(0)} ms`,
);

const parseStarted = performance.now();
const { document } = parseHTML('<!doctype html><html><body></body></html>');
console.log(`linkedom document: ${(performance.now() - parseStarted).toFixed(1)} ms`);
const chart = { document, width: 640 };

const classes = ['false_positive', 'candidate', 'planet'];
const curve = (label: string, n: number) => {
  const x = Array.from({ length: n }, (_, i) => i / (n - 1));
  return { label, x, y: x.map((v) => Math.sqrt(v)) };
};
const bins = Array.from({ length: 10 }, (_, i) => ({
  lower: i / 10,
  upper: (i + 1) / 10,
  count: 100,
  meanPredicted: i / 10 + 0.05,
  observed: i / 10 + 0.04,
}));
const features = Array.from({ length: 41 }, (_, i) => `feature_${i}`);
const cases: [string, () => SVGSVGElement][] = [
  [
    'loss (200 rounds)',
    () =>
      lossChart(
        Array.from({ length: 200 }, (_, i) => ({
          step: i + 1,
          loss: 1 / (i + 1),
          valLoss: 1.1 / (i + 1),
          valAccuracy: 0.8,
        })),
        chart,
      ),
  ],
  [
    'roc (3 × 1,913 points)',
    () =>
      curveChart(
        'roc',
        classes.map((c) => curve(c, 1913)),
        chart,
      ),
  ],
  [
    'pr (3 × 1,913 points)',
    () =>
      curveChart(
        'pr',
        classes.map((c) => curve(c, 1913)),
        chart,
      ),
  ],
  [
    'calibration',
    () =>
      calibrationChart(
        { topClass: bins, expectedCalibrationError: 0.02, perClass: classes.map((label) => ({ label, bins })) },
        chart,
      ),
  ],
  [
    'confusion (3 × 3)',
    () =>
      confusionChart(
        {
          labels: classes,
          matrix: [
            [841, 95, 32],
            [141, 180, 75],
            [42, 38, 469],
          ],
        },
        chart,
      ),
  ],
  [
    'importance (41 features, top 15)',
    () =>
      importanceChart(
        features.map((feature, i) => ({
          feature,
          importance: 1 / (i + 1),
          permutationImportance: 1 / (i + 2),
          permutationMean: 0.01 / (i + 2),
          permutationCi95: 0.002,
        })),
        chart,
      ),
  ],
  [
    'waterfall (31 features)',
    () =>
      waterfallChart(
        {
          label: 'planet',
          baseValue: 0.29,
          output: 0.9,
          outputSpace: 'PROBABILITY',
          contributions: features.slice(0, 31).map((feature, i) => ({ feature, value: i, contribution: 0.02 })),
        },
        chart,
      ),
  ],
];
for (const [name, render] of cases) {
  const first = performance.now();
  render();
  const firstMs = performance.now() - first;
  const repeats = 20;
  const t = performance.now();
  let bytes = 0;
  for (let i = 0; i < repeats; i++) bytes += render().outerHTML.length;
  const each = (performance.now() - t) / repeats;
  console.log(
    `${name.padEnd(34)} first ${firstMs.toFixed(1).padStart(6)} ms, then ${each.toFixed(1).padStart(5)} ms per SVG (${(bytes / repeats / 1024).toFixed(1)} KiB)`,
  );
}
