/**
 * Quick timings of the non-tree models on a Kepler-sized matrix (Kepler KOI, 30 physics columns, 70 % train
 * ≈ 6,700 rows; synthetic blobs of the same size when the NASA folder is absent).
 * Run: node --import tsx bench/models-quick.ts   (timings are wall-clock, single run: noisy on a shared machine)
 */
import { logisticRegressionTrainer } from '../src/ml/models/linear.js';
import { neuralNetworkTrainer } from '../src/ml/models/neural/index.js';
import { pcaTrainer } from '../src/ml/models/pca.js';
import { svmTrainer } from '../src/ml/models/svm/index.js';
import { initTensorflow } from '../src/ml/models/tf-backend.js';
import type { Hyperparameters, ModelTrainer } from '../src/ml/types.js';
import { gaussianBlobs, KEPLER_PHYSICS_30, loadKepler, macroF1, type Dataset } from '../test/unit/models-fixtures.js';

const synthetic = process.env.BENCH_SYNTHETIC === '1';
const data: { train: Dataset; test: Dataset } = synthetic
  ? { train: gaussianBlobs(1, 6700, 30, 3, 1), test: gaussianBlobs(2, 2900, 30, 3, 1) }
  : loadKepler(KEPLER_PHYSICS_30);
const { train, test } = data;
const { backend } = await initTensorflow();
console.log(
  `data: ${synthetic ? 'synthetic' : 'Kepler KOI'} ${train.X.rows}×${train.X.cols} train, ${test.X.rows} test; TF.js backend: ${backend}`,
);

async function time(name: string, trainer: ModelTrainer, params: Hyperparameters, perEpoch = false): Promise<void> {
  const epochTimes: number[] = [];
  let last = performance.now();
  const start = last;
  const model = await trainer.fit(train.X, train.y, 3, params, {
    seed: 42,
    onStep: perEpoch
      ? () => {
          const now = performance.now();
          epochTimes.push(now - last);
          last = now;
        }
      : undefined,
  });
  const fitSeconds = (performance.now() - start) / 1000;
  const predictStart = performance.now();
  const proba = model.predictProba(test.X);
  const predictMs = performance.now() - predictStart;
  const f1 = macroF1(proba, test.y, 3);
  // The first epoch includes kernel warm-up: report the median of the others.
  const steady = epochTimes.slice(1).sort((a, b) => a - b);
  const epochNote = perEpoch
    ? `, ${(steady[steady.length >> 1] / 1000).toFixed(3)} s/epoch (median of epochs 2..${epochTimes.length})`
    : '';
  console.log(
    `${name.padEnd(34)} fit ${fitSeconds.toFixed(2)} s${epochNote}, predict ${test.X.rows} rows ${predictMs.toFixed(0)} ms, macro-F1 ${f1.toFixed(4)}`,
  );
  (model as { dispose?: () => void }).dispose?.();
}

await time('logistic_regression (C=1)', logisticRegressionTrainer, {});
await time('pca (0.95) + logistic_regression', pcaTrainer, {});
await time('svm (rbf, C=1, gamma=scale)', svmTrainer, {});
await time('neural_network [128,64,32] ×5 ep', neuralNetworkTrainer, { hidden_layers: [128, 64, 32], epochs: 5 }, true);
await time('neural_network [64,32] ×5 ep', neuralNetworkTrainer, { hidden_layers: [64, 32], epochs: 5 }, true);
// scikit-learn's MLPClassifier uses batch_size=min(200, n): the same network at that batch size.
await time(
  'neural_network [64,32] batch 200',
  neuralNetworkTrainer,
  { hidden_layers: [64, 32], epochs: 5, batch_size: 200 },
  true,
);
