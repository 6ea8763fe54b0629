/**
 * `npm run bench:search`: hyperparameter search on Kepler, physics-only features, beside scikit-learn's
 * RandomizedSearchCV / HalvingRandomSearchCV with the same space, folds and time budget.
 *
 * Data: the Kepler table (NASA_DATA_DIR, default the embedded snapshot), its 30 default physics features, the
 * product's split (train/validation/test 70/10/20 grouped by star, seed 42). The search sees train + validation
 * (80 %) through 5 grouped stratified folds (seeded; the same folds go to scikit-learn as a PredefinedSplit); the
 * test split is touched once, by the best configuration of each search refitted on train + validation.
 *
 * Budget: `--minutes M` (default 10) per side; each side spends half on random search and half on successive
 * halving (factor 3, 3 rungs: 1/9, 1/3, all of the 300 trees / rounds; first-rung candidates = 3 × the trials random
 * search completed, rounded up to a multiple of 9, so halving costs about as much). No trial starts after the
 * budget; a started one finishes, and scikit-learn's HalvingRandomSearchCV cannot stop midway: the printed
 * seconds are what each really took.
 *
 * The random search's best trial is also trained as the product's refit run (trainPipeline), without and with
 * decisionTuning MACRO_F1: the held-out macro-F1 a user of startSearch gets.
 *
 * Flags: --minutes M  --folds K (5)  --models rf,xgb  --seed S (42)  --no-reference  --threads T (2)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_SPLIT_SIZES,
  featureMatrix,
  groupedStratifiedSplit,
  loadNasaTable,
  selectFeatures,
} from '../src/ml/data/index.js';
import { argmaxRows, evaluate, macroF1 } from '../src/ml/evaluate.js';
import { stratifiedGroupKFold } from '../src/ml/selection/folds.js';
import { modelFoldTrainer } from '../src/ml/selection/model-folds.js';
import { crossValidate } from '../src/ml/selection/cross-validate.js';
import { fitClassScales, fitVotingWeights, scaleClasses, softVote } from '../src/ml/selection/ensemble.js';
import {
  cvEvaluator,
  describeParams,
  runSearch,
  type SearchResult,
  type SearchStrategy,
  type TrialResult,
} from '../src/ml/selection/search.js';
import { defaultSearchSpace, type SearchSpace } from '../src/ml/selection/search-space.js';
import { resolveModelType, validateHyperparameters } from '../src/ml/catalog.js';
import { trainPipeline } from '../src/ml/pipeline.js';
import { trainSoftVoting, type SoftVotingMemberInput } from '../src/ml/selection/ensemble-run.js';
import { takeLabels, takeRows, type Hyperparameters, type ModelTypeId } from '../src/ml/types.js';
import { NASA_DIR } from '../test/fixtures/nasa.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const REFERENCE = path.join(REPO, 'bench', 'search_reference.py');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const value = process.argv.at(i + 1);
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

const minutes = Number(flag('minutes') ?? 10);
const folds = Number(flag('folds') ?? 5);
const seed = Number(flag('seed') ?? 42);
const threads = Number(flag('threads') ?? 2);
const wantReference = !process.argv.includes('--no-reference');
const modelTypes: ModelTypeId[] = (flag('models') ?? 'rf,xgb').split(',').map((name) => {
  const id = resolveModelType(name);
  if (!id) throw new Error(`unknown model type '${name}'`);
  return id;
});
if (!(minutes > 0) || !(folds >= 2)) throw new Error('--minutes must be > 0 and --folds ≥ 2');

const table = await loadNasaTable(NASA_DIR, 'kepler');
const { features } = selectFeatures(table);
const Xall = featureMatrix(table, features);
const split = groupedStratifiedSplit(table.labels, table.groups, table.classes.length, DEFAULT_SPLIT_SIZES, 42);
const searchRows = Int32Array.from([...split.train, ...split.validation]).sort();
const groupsAll: string[] = table.groups ?? Array.from(table.labels, (_, i) => String(i));
const data = {
  X: takeRows(Xall, searchRows),
  labels: takeLabels(table.labels, searchRows),
  groups: Array.from(searchRows, (r) => groupsAll[r]),
  classes: table.classes,
};
const ytest = takeLabels(table.labels, split.test);
const spaces: SearchSpace[] = modelTypes.map(defaultSearchSpace);
const budgetSeconds = (minutes * 60) / 2;

console.log(
  `Kepler physics-only: ${features.length} features; search rows ${searchRows.length} (train + validation), ` +
    `test ${split.test.length}; ${folds} grouped stratified folds (seed ${seed}); models ${modelTypes.join(', ')}; ` +
    `budget ${minutes} min per side (${budgetSeconds.toFixed(0)} s per strategy); load average ${loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')} on 2 cores`,
);

/** Test probabilities of a configuration refitted on every search row. */
async function testProbabilities(modelType: ModelTypeId, params: Hyperparameters): Promise<Float64Array> {
  const train = modelFoldTrainer({
    X: Xall,
    labels: table.labels,
    groups: groupsAll,
    numClasses: table.classes.length,
    modelType,
    hyperparameters: params,
    threads,
  });
  const predict = await train(searchRows, { fold: 1, folds: 1, seed, onStep: () => undefined });
  return predict(split.test);
}

const testF1 = (probabilities: Float64Array) => evaluate(ytest, probabilities, table.classes).macro.f1 ?? NaN;

/** Test macro-F1 of a configuration refitted on every search row. */
async function heldOut(modelType: ModelTypeId, params: Hyperparameters): Promise<number> {
  return testF1(await testProbabilities(modelType, params));
}

/** Out-of-fold probabilities of a configuration over the search rows (the search's folds). */
async function outOfFold(modelType: ModelTypeId, params: Hyperparameters): Promise<Float64Array> {
  const trainer = modelFoldTrainer({
    X: data.X,
    labels: data.labels,
    groups: data.groups,
    numClasses: data.classes.length,
    modelType,
    hyperparameters: params,
    threads,
  });
  const cv = await crossValidate(trainer, {
    labels: data.labels,
    groups: data.groups,
    classes: data.classes,
    folds,
    seed,
  });
  return cv.outOfFold;
}

const evaluator = cvEvaluator(data, { folds, seed, threads });
const line = (t: TrialResult) =>
  `  #${String(t.trial).padStart(3)} rung ${t.rung} ${t.modelType.padEnd(13)} ${
    t.score === null ? 'failed' : `${t.score.toFixed(4)} ± ${(t.sd ?? 0).toFixed(4)}`
  }  fit ${t.fitSeconds.toFixed(1)} s  ${describeParams(
    t.modelType,
    t.params,
    spaces.find((s) => s.modelType === t.modelType),
  )}`;

async function ours(strategy: SearchStrategy, maxTrials?: number): Promise<SearchResult & { test: number | null }> {
  console.log(`\nOurs, ${strategy}${maxTrials ? ` (${maxTrials} candidates)` : ''}:`);
  const result = await runSearch({ spaces, strategy, seed, maxSeconds: budgetSeconds, maxTrials }, evaluator, {
    onTrialEnd: (t) => {
      console.log(line(t));
    },
  });
  const test = result.best ? await heldOut(result.best.modelType, result.best.params) : null;
  return { ...result, test };
}

const random = await ours('RANDOM');
const halvingCandidates = Math.max(9, Math.ceil((3 * random.trials.length) / 9) * 9);
const halving = await ours('SUCCESSIVE_HALVING', halvingCandidates);
const defaultRf = await heldOut('random_forest', { n_estimators: 100 });

/**
 * The product path: the run a search's refit queues for its best trial (SearchService.refitBest → the training
 * worker's trainPipeline), on a session's defaults (Kepler physics-only, 70/10/20 by star, seed 42, three classes),
 * without and with `decisionTuning: MACRO_F1` (scales on the out-of-fold predictions of the search's folds). That run
 * trains on the train split only, so its held-out figure can sit below the refit on train + validation above.
 */
const fmt = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(4));
/** A new session's defaults: Kepler physics-only, three classes, 70/10/20 by star, seed 42. */
const sessionDefaults = {
  features: null,
  useVettingFeatures: false,
  task: 'THREE_CLASS' as const,
  split: DEFAULT_SPLIT_SIZES,
  seed: 42,
};
interface ProductLine {
  tuning: 'NONE' | 'MACRO_F1';
  test: number;
  scales: number[] | null;
  oof: { before: number; after: number } | null;
  seconds: number;
}
const product: ProductLine[] = [];
if (random.best) {
  const best = random.best;
  console.log(`
Product path: the refit run of random search's best trial (#${best.trial} ${best.modelType}):`);
  for (const tuning of ['NONE', 'MACRO_F1'] as const) {
    const started = performance.now();
    const run = await trainPipeline(
      table,
      {
        ...sessionDefaults,
        modelType: best.modelType,
        hyperparameters: validateHyperparameters(best.modelType, best.params),
        ...(tuning === 'MACRO_F1' ? { cvFolds: folds, decisionTuning: tuning } : {}),
      },
      { threads },
    );
    const tuned = run.decisionTuning;
    const line: ProductLine = {
      tuning,
      test: run.metrics.macro.f1 ?? NaN,
      scales: tuned?.classScales ?? null,
      oof: tuned ? tuned.fitted : null,
      seconds: (performance.now() - started) / 1000,
    };
    product.push(line);
    console.log(
      `  decisionTuning ${tuning}: held-out macro-F1 ${line.test.toFixed(4)}` +
        (tuned
          ? ` (scales ${tuned.classScales.map((v) => v.toFixed(2)).join('/')}; out-of-fold ${tuned.fitted.before.toFixed(4)} → ${tuned.fitted.after.toFixed(4)}; test before tuning ${tuned.test.before.toFixed(4)})`
          : '') +
        `, ${line.seconds.toFixed(0)} s`,
    );
  }
}

/**
 * Ensembles of the random search's top trials (the best of each model type, and the runner-up of the best type):
 * weights and per-class scales chosen on out-of-fold probabilities of the search rows (the same folds), then the
 * members refitted on every search row and the test split scored once per variant.
 */
interface EnsembleLine {
  name: string;
  cv: number;
  test: number;
}
const ensembles: EnsembleLine[] = [];
let productEnsemble: { test: number; oof: { before: number; after: number } | null } | null = null;
{
  const done = random.leaderboard.filter((t) => t.status === 'DONE');
  const members: TrialResult[] = [];
  for (const type of modelTypes) {
    const top = done.find((t) => t.modelType === type);
    if (top) members.push(top);
  }
  const runnerUp = done.find((t) => t.modelType === done[0]?.modelType && t !== done[0]);
  if (runnerUp) members.push(runnerUp);
  if (members.length >= 1) {
    console.log(`\nEnsembles of ${members.map((m) => `#${m.trial} ${m.modelType}`).join(', ')} (OOF-tuned):`);
    const oof: Float64Array[] = [];
    const test: Float64Array[] = [];
    for (const m of members) {
      oof.push(await outOfFold(m.modelType, m.params));
      test.push(await testProbabilities(m.modelType, m.params));
    }
    const k = data.classes.length;
    const oofF1 = (p: Float64Array) => macroF1(data.labels, argmaxRows(p, k), k);
    const add = (name: string, cv: number, probabilities: Float64Array) => {
      const line = { name, cv, test: testF1(probabilities) };
      ensembles.push(line);
      console.log(`  ${name}: OOF macro-F1 ${line.cv.toFixed(4)}, held-out ${line.test.toFixed(4)}`);
    };
    const bestScales = fitClassScales(oof[0], data.labels, k);
    add(`best trial (#${members[0].trial})`, oofF1(oof[0]), test[0]);
    add(
      `best trial, class scales ${bestScales.scales.map((v) => v.toFixed(2)).join('/')}`,
      bestScales.score,
      scaleClasses(test[0], bestScales.scales),
    );
    if (members.length > 1) {
      add('soft vote, equal weights', oofF1(softVote(oof)), softVote(test));
      const fitted = fitVotingWeights(oof, data.labels, k);
      const weighted = softVote(oof, fitted.weights);
      add(
        `soft vote, weights ${fitted.weights.map((w) => w.toFixed(1)).join('/')}`,
        fitted.score,
        softVote(test, fitted.weights),
      );
      const scales = fitClassScales(weighted, data.labels, k);
      add(
        `soft vote, weights ${fitted.weights.map((w) => w.toFixed(1)).join('/')}, class scales ${scales.scales.map((v) => v.toFixed(2)).join('/')}`,
        scales.score,
        scaleClasses(softVote(test, fitted.weights), scales.scales),
      );
    }
    if (members.length > 1) {
      // The same members through the product: each a run with cvFolds (the training worker's trainPipeline), then a
      // soft_voting run over them with weights "oof" and decisionTuning MACRO_F1 (trainSoftVoting, as the worker runs
      // it). Its members train on the train split only, as session runs do, so it can sit below the refits above.
      const started = performance.now();
      const inputs: SoftVotingMemberInput[] = [];
      for (const m of members) {
        const run = await trainPipeline(
          table,
          {
            ...sessionDefaults,
            modelType: m.modelType,
            hyperparameters: validateHyperparameters(m.modelType, m.params),
            cvFolds: folds,
          },
          { threads },
        );
        inputs.push({ runId: `run_trial${m.trial}`, artifact: run.artifact, outOfFold: run.outOfFold?.probabilities });
      }
      const run = await trainSoftVoting(
        table,
        {
          ...sessionDefaults,
          modelType: 'soft_voting',
          hyperparameters: validateHyperparameters('soft_voting', {
            members: inputs.map((m) => m.runId),
            weights: 'oof',
          }),
          decisionTuning: 'MACRO_F1',
        },
        inputs,
      );
      const tuned = run.decisionTuning;
      productEnsemble = { test: run.metrics.macro.f1 ?? NaN, oof: tuned ? tuned.fitted : null };
      console.log(
        `  product path, soft_voting run (weights "oof" ${run.ensemble.members.map((m) => m.weight.toFixed(2)).join('/')}, decisionTuning MACRO_F1` +
          (tuned ? ` scales ${tuned.classScales.map((v) => v.toFixed(2)).join('/')}` : '') +
          `): OOF macro-F1 ${fmt(tuned?.fitted.after)}, held-out ${fmt(productEnsemble.test)}, ${((performance.now() - started) / 1000).toFixed(0)} s with its members`,
      );
    }
  }
}

interface ReferenceResult {
  strategy: string;
  trials: number;
  seconds: number;
  best: { params: Record<string, unknown>; score: number; sd: number } | null;
  test: number | null;
  candidates?: number;
}
let reference:
  { ok: true; versions: Record<string, string>; results: ReferenceResult[] } | { ok: false; error: string };
if (!wantReference) reference = { ok: false, error: '--no-reference' };
else if (!existsSync(PYTHON)) reference = { ok: false, error: `${PYTHON} not found` };
else {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-search-'));
  try {
    const csv = (rows: Int32Array) =>
      Array.from(rows, (r) =>
        Array.from(Xall.data.subarray(r * Xall.cols, (r + 1) * Xall.cols), (v) =>
          Number.isNaN(v) ? '' : String(v),
        ).join(','),
      ).join('\n') + '\n';
    writeFileSync(path.join(dir, 'X_search.csv'), csv(searchRows));
    writeFileSync(path.join(dir, 'X_test.csv'), csv(split.test));
    writeFileSync(path.join(dir, 'y_search.csv'), Array.from(data.labels).join('\n') + '\n');
    writeFileSync(path.join(dir, 'y_test.csv'), Array.from(ytest).join('\n') + '\n');
    const foldOf = stratifiedGroupKFold(data.labels, data.groups, folds, seed).foldOf;
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        seed,
        budgetSeconds,
        foldOf: Array.from(foldOf),
        models: modelTypes,
        threads,
        spaces,
      }),
    );
    console.log('\nscikit-learn (same folds, space and budget):');
    const run = spawnSync(PYTHON, [REFERENCE, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    reference =
      run.status === 0
        ? (JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as typeof reference)
        : { ok: false, error: `exit ${run.status}: ${run.stdout.slice(-500)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log('\n| search | trials | seconds | best CV macro-F1 (mean ± sd) | held-out test macro-F1 | best |');
console.log('|---|---|---|---|---|---|');
for (const r of [random, halving]) {
  const b = r.best;
  console.log(
    `| ours ${r.strategy} | ${r.trials.length} | ${r.seconds.toFixed(0)} | ${b ? `${fmt(b.score)} ± ${fmt(b.sd)}` : 'n/a'} | ${fmt(r.test)} | ${
      b
        ? `${b.modelType} ${describeParams(
            b.modelType,
            b.params,
            spaces.find((s) => s.modelType === b.modelType),
          )}`
        : ''
    } |`,
  );
}
if (reference.ok) {
  for (const r of reference.results) {
    console.log(
      `| scikit-learn ${r.strategy} | ${r.trials} | ${r.seconds.toFixed(0)} | ${r.best ? `${fmt(r.best.score)} ± ${fmt(r.best.sd)}` : 'n/a'} | ${fmt(r.test)} | ${
        r.best ? JSON.stringify(r.best.params) : ''
      } |`,
    );
  }
  console.log(`scikit-learn side: ${JSON.stringify(reference.versions)}`);
} else console.log(`(no scikit-learn side: ${reference.error})`);
const GOAL = 0.76;
const mark = (v: number | null | undefined) => (typeof v === 'number' && v >= GOAL ? '✓' : '✗');
console.log(`\nGoal (issue 14 item 8): held-out macro-F1 ≥ ${GOAL}`);
for (const r of [random, halving]) console.log(`  ${mark(r.test)} ours ${r.strategy} best trial: ${fmt(r.test)}`);
for (const p of product)
  console.log(
    `  ${mark(p.test)} ours, product path (the search's refit run), decisionTuning ${p.tuning}: ${fmt(p.test)}` +
      (p.oof ? ` (out-of-fold ${fmt(p.oof.before)} → ${fmt(p.oof.after)})` : ''),
  );
for (const e of ensembles) console.log(`  ${mark(e.test)} ${e.name}: ${fmt(e.test)} (OOF ${fmt(e.cv)})`);
if (productEnsemble)
  console.log(
    `  ${mark(productEnsemble.test)} ours, product path, soft_voting run of these members (weights "oof", decisionTuning MACRO_F1): ${fmt(productEnsemble.test)}` +
      (productEnsemble.oof
        ? ` (out-of-fold ${fmt(productEnsemble.oof.before)} → ${fmt(productEnsemble.oof.after)})`
        : ''),
  );
if (reference.ok)
  for (const r of reference.results) console.log(`  ${mark(r.test)} scikit-learn ${r.strategy}: ${fmt(r.test)}`);
console.log(
  `Default random forest (100 trees) refitted on train + validation: held-out macro-F1 ${fmt(defaultRf)} ` +
    "(the README's 0.748 trains it on the train split only).",
);
