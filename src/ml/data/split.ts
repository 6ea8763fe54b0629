/**
 * Train / validation / test split, stratified by class and grouped by star (design §2): all rows of one group land
 * on the same side, and each side gets about its share of every class.
 */
import { Random } from '../random.js';
import { DataError } from './errors.js';

export interface SplitSizes {
  train: number;
  validation: number;
  test: number;
}

export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

export const DEFAULT_SPLIT_SIZES: Readonly<SplitSizes> = { train: 0.7, validation: 0.1, test: 0.2 };
export const DEFAULT_SPLIT_SEED = 42;

const SPLIT_NAMES = ['train', 'validation', 'test'] as const;

/**
 * Greedy grouped stratification, in the spirit of scikit-learn's StratifiedGroupKFold: groups are shuffled with
 * the seed, then taken largest first (ties keep the shuffled order); each goes to the split whose per-class fill
 * it improves most. The cost of putting a group with class histogram h into split s is the change of
 * Σ_c (n_sc − T_sc)² / T_sc, where n is the current and T the target count (share × class total). Dividing by
 * T compares relative fill, so small splits fill as fast as large ones; large groups first leave the many small
 * groups to even out the end.
 *
 * Returns row indices per split, sorted ascending. A share of 0 leaves that split empty.
 */
export function groupedStratifiedSplit(
  labels: Int32Array,
  groups: string[] | null,
  numClasses: number,
  sizes: SplitSizes,
  seed: number,
): SplitIndices {
  validateSizes(sizes);
  const n = labels.length;
  if (groups && groups.length !== n) throw new RangeError(`groups has ${groups.length} entries, labels ${n}`);

  // Group id per row, and each group's class histogram and size.
  const groupOf = new Int32Array(n);
  let numGroups = 0;
  if (groups) {
    const ids = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      let g = ids.get(groups[i]);
      if (g === undefined) ids.set(groups[i], (g = numGroups++));
      groupOf[i] = g;
    }
  } else {
    for (let i = 0; i < n; i++) groupOf[i] = i;
    numGroups = n;
  }
  const histogram = new Int32Array(numGroups * numClasses);
  const groupSize = new Int32Array(numGroups);
  const classTotal = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y < 0 || y >= numClasses) throw new RangeError(`label ${y} at row ${i} is outside 0..${numClasses - 1}`);
    histogram[groupOf[i] * numClasses + y]++;
    groupSize[groupOf[i]]++;
    classTotal[y]++;
  }

  const order = Array.from({ length: numGroups }, (_, g) => g);
  new Random(seed).shuffle(order);
  order.sort((a, b) => groupSize[b] - groupSize[a]); // stable: equal sizes keep the shuffled order

  const shares = SPLIT_NAMES.map((s) => sizes[s]);
  const target = new Float64Array(3 * numClasses);
  const count = new Float64Array(3 * numClasses);
  for (let s = 0; s < 3; s++) for (let c = 0; c < numClasses; c++) target[s * numClasses + c] = shares[s] * classTotal[c];

  const splitOfGroup = new Int8Array(numGroups);
  for (const g of order) {
    let best = -1;
    let bestCost = Infinity;
    for (let s = 0; s < 3; s++) {
      if (shares[s] === 0) continue;
      let cost = 0;
      for (let c = 0; c < numClasses; c++) {
        const h = histogram[g * numClasses + c];
        if (h === 0) continue;
        const k = s * numClasses + c;
        cost += (2 * h * (count[k] - target[k]) + h * h) / target[k];
      }
      if (cost < bestCost) {
        bestCost = cost;
        best = s;
      }
    }
    splitOfGroup[g] = best;
    for (let c = 0; c < numClasses; c++) count[best * numClasses + c] += histogram[g * numClasses + c];
  }

  const sizesOut = new Int32Array(3);
  for (let i = 0; i < n; i++) sizesOut[splitOfGroup[groupOf[i]]]++;
  const out = [new Int32Array(sizesOut[0]), new Int32Array(sizesOut[1]), new Int32Array(sizesOut[2])];
  const fill = new Int32Array(3);
  for (let i = 0; i < n; i++) {
    const s = splitOfGroup[groupOf[i]];
    out[s][fill[s]++] = i; // rows visited in order ⇒ already ascending
  }
  return { train: out[0], validation: out[1], test: out[2] };
}

function validateSizes(sizes: SplitSizes): void {
  for (const name of SPLIT_NAMES) {
    const v = sizes[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
      throw new DataError('BAD_USER_INPUT', `Split size ${name} must be a share between 0 and 1 (got ${String(v)}).`, 'split');
    }
  }
  if (sizes.train === 0 || sizes.test === 0) {
    throw new DataError('BAD_USER_INPUT', 'The train and test splits must not be empty (shares above 0).', 'split');
  }
  const sum = sizes.train + sizes.validation + sizes.test;
  if (Math.abs(sum - 1) > 1e-6) {
    throw new DataError('BAD_USER_INPUT', `Split shares must add up to 1 (train ${sizes.train} + validation ${sizes.validation} + test ${sizes.test} = ${sum}).`, 'split');
  }
}
