/**
 * `npm run bench:linear`: logistic regression's fit at 10,000–200,000 rows beside scikit-learn, in CPU time, in the
 * same run (issue 17 goal 5: ≤ 2× scikit-learn at 200,000 rows, coefficients within 1e-5).
 *
 *   npm run bench:linear -- [--rows 10000,50000,200000] [--repeats 5]
 *
 * Each size is bench:scale's seeded synthetic table (20 features, 2 classes, 0.5 % of cells missing), its first 70 %
 * of rows as the training split (the rows are independent draws), median-imputed and standardised by the pipeline's
 * own preprocessor. Ours fits in a fresh Node process: its first fit is the cold one a new training thread makes
 * (V8 compiles the hot loops meanwhile, on other threads, counted), the next are warm. scikit-learn
 * (bench/linear-scale-reference.py) fits LogisticRegression(C=1, max_iter=1000), its defaults otherwise (lbfgs, tol
 * 1e-4), as bench:scale does. Times are process CPU (every thread), steadier than wall time on a loaded machine; the
 * load average is printed beside them.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fitPreprocessor } from '../src/ml/preprocess.js';
import { fitSoftmaxRegression, HESSIAN_SAMPLE_ROWS } from '../src/ml/models/softmax-regression.js';
import { median } from './stats.js';
import { SYNTHETIC_FEATURES, writeSyntheticCsv } from './synthetic.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
/** Issue 17 goal 5, and issue 16's coefficient rule (against the optimum both solvers aim at). */
const GOAL_RATIO = 2;
const COEF_GOAL = 1e-5;
const run = promisify(execFile);

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return (at === -1 ? undefined : process.argv[at + 1]) ?? fallback;
}

interface OurFits {
  fits: { cpuSeconds: number; wallSeconds: number; iterations: number; evaluations: number; hessians: number }[];
  gradientNorm: number;
  coef: number[];
  intercept: number[];
}

interface Reference {
  solver: string;
  C: number;
  tol: number;
  maxIter: number;
  nIter: number;
  cpuSeconds: number[];
  wallSeconds: number[];
  coef: number[][];
  intercept: number[];
  optimum: { solver: string; nIter: number; coef: number[][]; intercept: number[] };
}

function readMatrix(dir: string): { X: { rows: number; cols: number; data: Float64Array }; y: Int32Array } {
  const x = fs.readFileSync(path.join(dir, 'X.f64'));
  const y = fs.readFileSync(path.join(dir, 'y.i32'));
  const data = new Float64Array(x.buffer, x.byteOffset, x.byteLength / 8).slice();
  const labels = new Int32Array(y.buffer, y.byteOffset, y.byteLength / 4).slice();
  return { X: { rows: labels.length, cols: data.length / labels.length, data }, y: labels };
}

// The child: `--child <dir> <repeats>` fits and prints JSON (a fresh process, so its first fit is cold).
if (process.argv[2] === '--child') {
  const { X, y } = readMatrix(process.argv[3]);
  const out: OurFits = { fits: [], gradientNorm: NaN, coef: [], intercept: [] };
  for (let r = 0; r < Number(process.argv[4]); r++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const fit = await fitSoftmaxRegression(X, y, 2, { C: 1, maxIter: 1000 });
    const used = process.cpuUsage(cpu);
    out.fits.push({
      cpuSeconds: (used.user + used.system) / 1e6,
      wallSeconds: (performance.now() - started) / 1000,
      iterations: fit.iterations,
      evaluations: fit.evaluations,
      hessians: fit.hessians,
    });
    Object.assign(out, { gradientNorm: fit.gradientNorm, coef: Array.from(fit.coef), intercept: [...fit.intercept] });
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** bench:scale's table of `rows` rows: the first 70 % as training rows, imputed and standardised, into `dir`. */
function prepare(rows: number, dir: string): number {
  const csv = path.join(dir, 'table.csv');
  writeSyntheticCsv(csv, rows);
  const lines = fs
    .readFileSync(csv, 'utf8')
    .split('\n')
    .slice(1, 1 + Math.round(rows * 0.7));
  fs.rmSync(csv);
  const d = SYNTHETIC_FEATURES;
  const data = new Float64Array(lines.length * d);
  const y = new Int32Array(lines.length);
  lines.forEach((line, i) => {
    const cells = line.split(',');
    for (let j = 0; j < d; j++) data[i * d + j] = cells[j] === '' ? NaN : Number(cells[j]);
    y[i] = cells[d] === 'planet' ? 1 : 0;
  });
  const raw = { rows: lines.length, cols: d, data };
  const X = fitPreprocessor(raw, { impute: true, scale: true }).transform(raw);
  fs.writeFileSync(path.join(dir, 'X.f64'), new Uint8Array(X.data.buffer, X.data.byteOffset, X.data.byteLength));
  fs.writeFileSync(path.join(dir, 'y.i32'), new Uint8Array(y.buffer));
  return lines.length;
}

/** Largest |difference| of coefficients and intercept (binary: one row of weights). */
function distance(
  coef: readonly number[],
  intercept: readonly number[],
  to: { coef: number[][]; intercept: number[] },
) {
  let max = Math.abs(intercept[0] - to.intercept[0]);
  to.coef[0].forEach((w, j) => (max = Math.max(max, Math.abs(coef[j] - w))));
  return max;
}

const sizes = argument('rows', '10000,50000,200000').split(',').map(Number);
const repeats = Math.max(2, Number(argument('repeats', '5')));
const mark = (ok: boolean) => (ok ? '✓' : '✗');
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(
  `bench:linear — logistic regression (C=1) at ${sizes.join(', ')} rows × ${SYNTHETIC_FEATURES} features, 2 classes, ` +
    `${repeats} fits each; ${os.cpus().length} cores, Node ${process.version}, load ${load()}`,
);
console.log(
  `goal (issue 17 goal 5): fit CPU ≤ ${GOAL_RATIO}× scikit-learn's, coefficients within ${COEF_GOAL} of the optimum\n`,
);
const summary: string[] = [];
for (const rows of sizes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-linear-'));
  try {
    const fitRows = prepare(rows, dir);
    const ref = JSON.parse(
      (
        await run(
          PYTHON,
          [
            path.join(HERE, 'linear-scale-reference.py'),
            path.join(dir, 'X.f64'),
            path.join(dir, 'y.i32'),
            String(SYNTHETIC_FEATURES),
            String(repeats),
          ],
          { maxBuffer: 16 << 20 },
        )
      ).stdout,
    ) as Reference;
    const ours = JSON.parse(
      (
        await run(
          process.execPath,
          [...process.execArgv, fileURLToPath(import.meta.url), '--child', dir, String(repeats)],
          { maxBuffer: 16 << 20 },
        )
      ).stdout,
    ) as OurFits;
    const [cold, ...warm] = ours.fits;
    const warmCpu = median(warm.map((f) => f.cpuSeconds));
    const refCpu = median(ref.cpuSeconds);
    const coldRatio = cold.cpuSeconds / refCpu;
    const warmRatio = warmCpu / refCpu;
    const ourDistance = distance(ours.coef, ours.intercept, ref.optimum);
    const theirDistance = distance(ref.coef[0], ref.intercept, ref.optimum);
    console.log(
      `## ${rows.toLocaleString('en')} rows (${fitRows.toLocaleString('en')} training rows), load ${load()}\n` +
        `scikit-learn: ${ref.solver}, C ${ref.C}, tol ${ref.tol}, max_iter ${ref.maxIter}, standardised input; ` +
        `n_iter_ ${ref.nIter}; CPU median ${refCpu.toFixed(3)} s (wall ${median(ref.wallSeconds).toFixed(3)} s); ` +
        `max |coef − optimum| ${theirDistance.toExponential(1)} (optimum: ${ref.optimum.solver}, ${ref.optimum.nIter} iterations)\n` +
        `ours: ${cold.iterations} iterations, ${cold.evaluations} loss+gradient passes, ${cold.hessians} Hessian(s)` +
        `${cold.hessians > 0 && fitRows > HESSIAN_SAMPLE_ROWS ? ` on a sample of ${HESSIAN_SAMPLE_ROWS.toLocaleString('en')} rows` : ''}; max|gradient| ${ours.gradientNorm.toExponential(1)}; ` +
        `first fit (fresh process) CPU ${cold.cpuSeconds.toFixed(3)} s (wall ${cold.wallSeconds.toFixed(3)} s), ` +
        `then median CPU ${warmCpu.toFixed(3)} s (wall ${median(warm.map((f) => f.wallSeconds)).toFixed(3)} s), ` +
        `${((warmCpu / cold.evaluations) * 1000).toFixed(2)} ms per pass\n` +
        `  CPU ratio first fit ${coldRatio.toFixed(2)}× ${mark(coldRatio <= GOAL_RATIO)}, ` +
        `warm ${warmRatio.toFixed(2)}× ${mark(warmRatio <= GOAL_RATIO)} (goal ≤ ${GOAL_RATIO}×); ` +
        `max |coef − optimum| ours ${ourDistance.toExponential(1)} ${mark(ourDistance <= COEF_GOAL)} (goal ≤ ${COEF_GOAL})`,
    );
    summary.push(
      `${String(rows).padStart(7)} rows: first fit ${coldRatio.toFixed(2)}× ${mark(coldRatio <= GOAL_RATIO)}, warm ` +
        `${warmRatio.toFixed(2)}× ${mark(warmRatio <= GOAL_RATIO)}, coefficients ${mark(ourDistance <= COEF_GOAL)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`\nsummary (CPU ratio to scikit-learn; load ${load()}):\n${summary.join('\n')}`);
