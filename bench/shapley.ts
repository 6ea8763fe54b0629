/**
 * `npm run bench:shapley`: sampling Shapley explanations with the defaults (32 permutations, 64 background rows)
 * on 30 features, for a logistic model and a small MLP (30 → 64 → 32 → 3), the shapes the product explains
 * without TreeSHAP. Goal: ≤ 1 s per explanation (what a user waits for on `explain`). Prints the best and the
 * median of 5 runs per model with ✓/✗, and the load average (a shared 2-core machine makes single runs noisy).
 * Run: node --import tsx bench/shapley.ts
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_BACKGROUND_SIZE, sampleBackground, samplingShapley } from '../src/ml/explain/shapley.js';
import { Random } from '../src/ml/random.js';
import type { Matrix } from '../src/ml/types.js';
import { median } from './stats.js';

const FEATURES = 30;
const CLASSES = 3;
const REPEATS = 5;
const GOAL_MS = 1000;

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const random = new Random(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => random.normal()) };
}

interface Dense {
  w: Float64Array;
  inputs: number;
  outputs: number;
}

const random = new Random(2);
const dense = (inputs: number, outputs: number): Dense => ({
  w: Float64Array.from({ length: inputs * outputs }, () => random.normal() / Math.sqrt(inputs)),
  inputs,
  outputs,
});

function layer(l: Dense, x: Float64Array, rows: number, relu: boolean): Float64Array {
  const out = new Float64Array(rows * l.outputs);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < l.inputs; t++) {
      const v = x[i * l.inputs + t];
      if (v === 0) continue;
      for (let o = 0; o < l.outputs; o++) out[i * l.outputs + o] += v * l.w[t * l.outputs + o];
    }
    if (relu) for (let o = 0; o < l.outputs; o++) out[i * l.outputs + o] = Math.max(0, out[i * l.outputs + o]);
  }
  return out;
}

function softmax(z: Float64Array, rows: number): Float64Array {
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let c = 0; c < CLASSES; c++) max = Math.max(max, z[i * CLASSES + c]);
    let sum = 0;
    for (let c = 0; c < CLASSES; c++) sum += z[i * CLASSES + c] = Math.exp(z[i * CLASSES + c] - max);
    for (let c = 0; c < CLASSES; c++) z[i * CLASSES + c] /= sum;
  }
  return z;
}

const logistic = dense(FEATURES, CLASSES);
const mlp = [dense(FEATURES, 64), dense(64, 32), dense(32, CLASSES)];
const models: Record<string, (X: Matrix) => Float64Array> = {
  logistic: (X) => softmax(layer(logistic, X.data, X.rows, false), X.rows),
  'MLP 64-32': (X) => {
    const h1 = layer(mlp[0], X.data, X.rows, true);
    const h2 = layer(mlp[1], h1, X.rows, true);
    return softmax(layer(mlp[2], h2, X.rows, false), X.rows);
  },
};

const background = sampleBackground(randomMatrix(2000, FEATURES, 3), 7);
const row = randomMatrix(1, FEATURES, 4).data;
console.log(
  `sampling Shapley, defaults: ${FEATURES} features, background ${background.rows} (default ${DEFAULT_BACKGROUND_SIZE}), ` +
    `${REPEATS} runs; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
for (const [name, model] of Object.entries(models)) {
  const times: number[] = [];
  let permutations = 0;
  let residual = 0;
  for (let k = 0; k < REPEATS; k++) {
    const started = performance.now();
    const result = samplingShapley(model, row, background, 2, CLASSES, { seed: 1 });
    times.push(performance.now() - started);
    permutations = result.permutations;
    residual = Math.max(residual, Math.abs(result.residual));
  }
  times.sort((a, b) => a - b);
  const middle = median(times);
  console.log(
    `  ${name.padEnd(10)} best ${times[0].toFixed(0).padStart(5)} ms  median ${middle.toFixed(0).padStart(5)} ms  ` +
      `(${permutations} permutations, |residual| ${residual.toExponential(1)})  goal ≤ ${GOAL_MS} ms ${middle <= GOAL_MS ? '✓' : '✗'}`,
  );
}
