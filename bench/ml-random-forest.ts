/**
 * `npm run bench:mlrf`: why the tree models do not use `ml-random-forest` (the library the design card named).
 * ONE tree of ml-random-forest 2.1.0 with its defaults on the Kepler training split (median-imputed: it has no
 * missing-value handling), in a child process killed after --limit seconds (default 120), next to ours.
 * One change from its defaults: `noOOB: true`, because with a single tree its out-of-bag step throws
 * ("input must not be empty": rows no tree left out) after the tree is grown; OOB is not part of growing the tree.
 * Same data as bench:ml (physics features, grouped stratified split 70/10/20, seed 42). Wall-clock, noisy.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RandomForestClassifier } from 'ml-random-forest';
import { validateHyperparameters } from '../src/ml/catalog.js';
import {
  DEFAULT_SPLIT_SIZES,
  featureMatrix,
  fitPreprocessor,
  groupedStratifiedSplit,
  loadNasaTable,
  selectFeatures,
} from '../src/ml/data/index.js';
import { argmaxRows, macroF1 } from '../src/ml/evaluate.js';
import { randomForestTrainer } from '../src/ml/models/trees/index.js';
import { takeLabels, takeRows, type Hyperparameters, type Matrix } from '../src/ml/types.js';
import { NASA_DIR } from '../test/fixtures/nasa.js';

const HERE = fileURLToPath(import.meta.url);
const nasaDir = NASA_DIR;
const limitIndex = process.argv.indexOf('--limit');
const limitSeconds = limitIndex === -1 ? 120 : Number(process.argv[limitIndex + 1]);

async function keplerSplit() {
  const table = await loadNasaTable(nasaDir, 'kepler');
  const { features } = selectFeatures(table);
  const X = featureMatrix(table, features);
  const split = groupedStratifiedSplit(table.labels, table.groups, table.classes.length, DEFAULT_SPLIT_SIZES, 42);
  const rawTrain = takeRows(X, split.train);
  const imputer = fitPreprocessor(rawTrain, { impute: true, scale: false });
  return {
    features,
    classes: table.classes.length,
    rawTrain,
    rawTest: takeRows(X, split.test),
    train: imputer.transform(rawTrain),
    test: imputer.transform(takeRows(X, split.test)),
    yTrain: takeLabels(table.labels, split.train),
    yTest: takeLabels(table.labels, split.test),
  };
}

const toRows = (X: Matrix): number[][] =>
  Array.from({ length: X.rows }, (_, r) => Array.from(X.data.subarray(r * X.cols, (r + 1) * X.cols)));

if (process.argv.includes('--child')) {
  // The child: train ml-random-forest and report on stdout.
  const data = await keplerSplit();
  const forest = new RandomForestClassifier({ nEstimators: 1, noOOB: true });
  const started = performance.now();
  forest.train(toRows(data.train), Array.from(data.yTrain));
  const fitSeconds = (performance.now() - started) / 1000;
  const predicted = Int32Array.from(forest.predict(toRows(data.test)));
  console.log(JSON.stringify({ fitSeconds, macroF1: macroF1(data.yTest, predicted, data.classes) }));
} else {
  const data = await keplerSplit();
  console.log(
    `bench:mlrf — Kepler physics features: train ${data.train.rows} × ${data.train.cols}, test ${data.test.rows} ` +
      `(grouped stratified split, seed 42). Wall clock on a shared 2-core machine: noisy.\n`,
  );

  async function ours(label: string, params: Hyperparameters, threads: number): Promise<string> {
    const started = performance.now();
    const model = await randomForestTrainer.fit(
      data.rawTrain,
      data.yTrain,
      data.classes,
      validateHyperparameters('random_forest', params),
      { seed: 42, threads },
    );
    const fitSeconds = (performance.now() - started) / 1000;
    const f1 = macroF1(data.yTest, argmaxRows(model.predictProba(data.rawTest), data.classes), data.classes);
    return `${label.padEnd(64)} ${fitSeconds.toFixed(2).padStart(8)} s   macro-F1 ${f1.toFixed(4)}`;
  }

  const theirs = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HERE, '--child'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = performance.now();
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitSeconds * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const label = 'ml-random-forest 2.1.0, 1 tree, defaults + noOOB (all features)';
      if (!killed && code !== 0) {
        resolve(`${label.padEnd(64)} failed (exit code ${code}; its error is printed above)`);
        return;
      }
      try {
        const { fitSeconds, macroF1: f1 } = JSON.parse(output) as { fitSeconds: number; macroF1: number };
        resolve(
          `${label.padEnd(64)} ${fitSeconds.toFixed(2).padStart(8)} s   macro-F1 ${f1.toFixed(4)} (majority vote, 1 tree)`,
        );
      } catch {
        const waited = (performance.now() - started) / 1000;
        resolve(
          `${label.padEnd(64)} ${`> ${limitSeconds}`.padStart(8)} s   (killed after ${waited.toFixed(0)} s, loading included)`,
        );
      }
    });
  });

  console.log(theirs);
  console.log(
    await ours('ours random_forest, 1 tree, max_features all (as theirs)', { n_estimators: 1, max_features: 'all' }, 1),
  );
  console.log(await ours('ours random_forest, 1 tree, max_features sqrt', { n_estimators: 1 }, 1));
  console.log(await ours('ours random_forest, 100 trees, sqrt, 2 threads', { n_estimators: 100 }, 2));
  console.log('\n(ml-random-forest trains on median-imputed values; ours on raw values with NaN routed natively.)');
}
