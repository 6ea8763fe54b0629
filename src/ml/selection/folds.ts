/**
 * Grouped, stratified k-fold: scikit-learn's StratifiedGroupKFold algorithm, rows of one group (star) never in two
 * folds, each fold's class shares as close to the whole's as the groups allow.
 *
 * The algorithm (sklearn 1.2, `StratifiedGroupKFold._iter_test_indices`): groups are taken in order of decreasing
 * standard deviation of their class counts (a stable sort, so groups with equal spread keep their order: sorted
 * group ids without a seed, a seeded shuffle with one); each group goes to the fold that, with it, has the
 * smallest mean over classes of the standard deviation across folds of the fold's share of that class; near-ties
 * (numpy's `isclose`) go to the fold with fewer rows. Without a seed the assignment is scikit-learn's own with
 * `shuffle=False` (a test checks it fold for fold); with a seed the group order is our seeded shuffle, so it differs
 * from scikit-learn's `shuffle=True` (another generator) but keeps the same properties.
 */
import { badInput } from '../../domain/errors.js';
import { Random } from '../random.js';

export interface FoldAssignment {
  folds: number;
  /** Fold (0..folds−1) of every row. */
  foldOf: Int32Array;
  /** Rows of each fold, ascending: the fold's test rows. */
  testRows: Int32Array[];
  /** The other folds' rows, ascending: the rows a fold's model trains on. */
  trainRows: Int32Array[];
}

export const DEFAULT_CV_FOLDS = 5;

/**
 * `labels[i]` is row i's class index, `groups[i]` its star (null: every row is its own group). `seed` null keeps
 * scikit-learn's `shuffle=False` order. Throws BAD_USER_INPUT (field `cvFolds`) when there are fewer groups than
 * folds or `folds` < 2.
 */
export function stratifiedGroupKFold(
  labels: Int32Array,
  groups: readonly string[] | null,
  folds: number,
  seed: number | null,
): FoldAssignment {
  const n = labels.length;
  if (!Number.isInteger(folds) || folds < 2) {
    throw badInput(`Cross-validation needs a whole number of folds of at least 2 (got ${folds}).`, 'cvFolds');
  }
  if (groups && groups.length !== n) throw new RangeError(`groups has ${groups.length} entries, labels ${n}`);

  // Classes present (np.unique of y) and their counts.
  const presentClasses = [...new Set(labels)].sort((a, b) => a - b);
  const classIndex = new Map(presentClasses.map((c, i) => [c, i]));
  const numClasses = presentClasses.length;
  const classOf = Int32Array.from(labels, (y) => classIndex.get(y) ?? -1);
  const classCount = new Float64Array(numClasses);
  for (const c of classOf) classCount[c]++;

  // Group index per row, groups numbered in sorted order of their ids (np.unique).
  const groupOf = new Int32Array(n);
  let numGroups: number;
  if (groups) {
    const ids = [...new Set(groups)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const index = new Map(ids.map((id, g) => [id, g]));
    for (let i = 0; i < n; i++) groupOf[i] = index.get(groups[i]) ?? -1;
    numGroups = ids.length;
  } else {
    for (let i = 0; i < n; i++) groupOf[i] = i;
    numGroups = n;
  }
  if (numGroups < folds) {
    throw badInput(
      `Cross-validation with ${folds} folds needs at least ${folds} groups (stars); the data has ${numGroups}.`,
      'cvFolds',
    );
  }

  const countsPerGroup = new Float64Array(numGroups * numClasses);
  for (let i = 0; i < n; i++) countsPerGroup[groupOf[i] * numClasses + classOf[i]]++;
  const spread = new Float64Array(numGroups);
  for (let g = 0; g < numGroups; g++) spread[g] = std(countsPerGroup.subarray(g * numClasses, (g + 1) * numClasses));

  const order = Array.from({ length: numGroups }, (_, g) => g);
  if (seed !== null) new Random(seed).shuffle(order);
  order.sort((a, b) => spread[b] - spread[a]); // stable (Array.prototype.sort is stable since ES2019)

  const countsPerFold = new Float64Array(folds * numClasses);
  const foldOfGroup = new Int32Array(numGroups);
  const shares = new Float64Array(folds);
  for (const g of order) {
    const groupCounts = countsPerGroup.subarray(g * numClasses, (g + 1) * numClasses);
    let best = -1;
    let bestEval = Infinity;
    let bestSize = 0;
    for (let f = 0; f < folds; f++) {
      for (let c = 0; c < numClasses; c++) countsPerFold[f * numClasses + c] += groupCounts[c];
      let evalSum = 0;
      for (let c = 0; c < numClasses; c++) {
        for (let h = 0; h < folds; h++) shares[h] = countsPerFold[h * numClasses + c] / classCount[c];
        evalSum += std(shares);
      }
      for (let c = 0; c < numClasses; c++) countsPerFold[f * numClasses + c] -= groupCounts[c];
      const foldEval = evalSum / numClasses;
      let size = 0;
      for (let c = 0; c < numClasses; c++) size += countsPerFold[f * numClasses + c];
      // numpy.isclose(foldEval, bestEval): |a − b| ≤ 1e-8 + 1e-5·|b|.
      const close = Math.abs(foldEval - bestEval) <= 1e-8 + 1e-5 * Math.abs(bestEval);
      if (foldEval < bestEval || (close && size < bestSize)) {
        best = f;
        bestEval = foldEval;
        bestSize = size;
      }
    }
    foldOfGroup[g] = best;
    for (let c = 0; c < numClasses; c++) countsPerFold[best * numClasses + c] += groupCounts[c];
  }

  const foldOf = Int32Array.from(groupOf, (g) => foldOfGroup[g]);
  return { folds, foldOf, ...rowsOfFolds(foldOf, folds) };
}

/** Test and train rows of each fold, ascending, from a fold per row. */
export function rowsOfFolds(foldOf: Int32Array, folds: number): Pick<FoldAssignment, 'testRows' | 'trainRows'> {
  const sizes = new Int32Array(folds);
  for (const f of foldOf) sizes[f]++;
  const testRows = Array.from(sizes, (size) => new Int32Array(size));
  const trainRows = Array.from(sizes, (size) => new Int32Array(foldOf.length - size));
  const testFill = new Int32Array(folds);
  const trainFill = new Int32Array(folds);
  for (let i = 0; i < foldOf.length; i++) {
    const fold = foldOf[i];
    testRows[fold][testFill[fold]++] = i;
    for (let f = 0; f < folds; f++) if (f !== fold) trainRows[f][trainFill[f]++] = i;
  }
  return { testRows, trainRows };
}

/** Population standard deviation (numpy's `std`, ddof 0). */
function std(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return Math.sqrt(squares / values.length);
}
