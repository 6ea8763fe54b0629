/**
 * Loading stored models: time of `loadModel(json)` (the checked decoding of the parsed stored JSON and building the
 * model) for a 100-tree random forest and a 100-round xgboost model on a synthetic 8000 × 20 table, median of
 * 30 loads after 5 warm-ups. Run: npm run bench:model-load
 */
import { loadModel, trainerFor } from '../src/ml/models/registry.js';
import { Random } from '../src/ml/random.js';
import { matrix, type ModelTypeId, type SerializedModel } from '../src/ml/types.js';

const ROWS = 8000;
const COLS = 20;
const rng = new Random(7);
const X = matrix(ROWS, COLS);
const y = new Int32Array(ROWS);
for (let i = 0; i < ROWS; i++) {
  let s = 0;
  for (let j = 0; j < COLS; j++) {
    const v = rng.next() * 2 - 1;
    X.data[i * COLS + j] = v;
    s += j % 3 === 0 ? v : -v / 2;
  }
  y[i] = s > 0.3 ? 2 : s < -0.3 ? 0 : 1;
}

async function measure(modelType: ModelTypeId, params: Record<string, number>): Promise<void> {
  const model = await trainerFor(modelType).fit(X, y, 3, params, { seed: 1, threads: 2 });
  const text = JSON.stringify(model.toJSON());
  // Parsed once: the figure is the model's own decoding (checks, base64, typed arrays), not JSON.parse.
  const json = JSON.parse(text) as SerializedModel; // the artefact decoder (artifact.ts) checks these outer fields
  const times: number[] = [];
  for (let i = 0; i < 35; i++) {
    const start = performance.now();
    await loadModel(json);
    if (i >= 5) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(
    `${modelType}: ${(text.length / 1e6).toFixed(2)} MB JSON, load median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)} ms`,
  );
}

await measure('random_forest', { n_estimators: 100 });
await measure('xgboost', { n_estimators: 100 });
process.exit(0);
