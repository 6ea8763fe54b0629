/**
 * Train / validation / test split, stratified by class and grouped by star (design §2): all rows of one group land
 * on the same side, and each side gets about its share of every class.
 */
import { Random } from '../random.js';
import { badInput } from '../../domain/errors.js';

import type { SplitSizes } from '../../domain/data.js';
export type { SplitSizes };

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
      throw badInput(`Split size ${name} must be a share between 0 and 1 (got ${String(v)}).`, 'split');
    }
  }
  if (sizes.train === 0 || sizes.test === 0) {
    throw badInput('The train and test splits must not be empty (shares above 0).', 'split');
  }
  const sum = sizes.train + sizes.validation + sizes.test;
  if (Math.abs(sum - 1) > 1e-6) {
    throw badInput(`Split shares must add up to 1 (train ${sizes.train} + validation ${sizes.validation} + test ${sizes.test} = ${sum}).`, 'split');
  }
}

/**
 * The smallest split a run may train on (issue 9): every class needs this many rows in each split (validation only
 * when its share is above 0). Below it, metrics would be computed on nothing ("macro-F1 n/a on 0 held-out rows").
 */
export const MIN_ROWS_PER_CLASS: Readonly<SplitSizes> = { train: 2, validation: 1, test: 2 };
/** A class trains with fewer rows than these, but its figures rest on very few rows: the run gets a warning. */
export const SMALL_CLASS_ROWS: Readonly<SplitSizes> = { train: 20, validation: 0, test: 10 };

export interface ClassSplitCounts {
  label: string;
  total: number;
  train: number;
  validation: number;
  test: number;
}

export interface CheckedSplit {
  split: SplitIndices;
  counts: ClassSplitCounts[];
  /** Rows per class with which a dataset without shared groups meets the minimum at these shares and seed. */
  minRowsPerClass: number;
  /** Trainable, but worth knowing (tiny classes). */
  warnings: string[];
}

function countsOf(labels: Int32Array, split: SplitIndices, classes: readonly string[]): ClassSplitCounts[] {
  const counts = classes.map((label) => ({ label, total: 0, train: 0, validation: 0, test: 0 }));
  for (const name of SPLIT_NAMES) for (const i of split[name]) counts[labels[i]][name]++;
  for (const c of counts) c.total = c.train + c.validation + c.test;
  return counts;
}

function shortfalls(counts: readonly ClassSplitCounts[], sizes: SplitSizes): { label: string; split: (typeof SPLIT_NAMES)[number]; count: number }[] {
  const out: { label: string; split: (typeof SPLIT_NAMES)[number]; count: number }[] = [];
  for (const c of counts) {
    for (const name of SPLIT_NAMES) {
      if (sizes[name] > 0 && c[name] < MIN_ROWS_PER_CLASS[name]) out.push({ label: c.label, split: name, count: c[name] });
    }
  }
  return out;
}

/**
 * Smallest n such that n rows of every class (one row per group) split with these shares and seed meet the minimum;
 * the same greedy split decides, so the number is exact for data without shared groups.
 */
export function minimumRowsPerClass(numClasses: number, sizes: SplitSizes, seed: number): number {
  const classes = Array.from({ length: numClasses }, (_, c) => String(c));
  // From the fewest rows that could possibly fill every split, upwards: the first n that works is the answer.
  let n = SPLIT_NAMES.filter((name) => sizes[name] > 0).reduce((sum, name) => sum + MIN_ROWS_PER_CLASS[name], 0);
  for (; n < 10_000; n++) {
    const labels = Int32Array.from({ length: n * numClasses }, (_, i) => i % numClasses);
    const split = groupedStratifiedSplit(labels, null, numClasses, sizes, seed);
    if (shortfalls(countsOf(labels, split, classes), sizes).length === 0) return n;
  }
  return n;
}

const splitLabel = (sizes: SplitSizes) => `train/validation/test ${sizes.train}/${sizes.validation}/${sizes.test}`;

/**
 * The split a run trains on, or a BAD_USER_INPUT (field `datasetId`) naming the rows per class and split and the
 * smallest dataset that works, when a split the config asks for would miss a class (or be empty). The one place of
 * this rule: the training service calls it when a run is started, the pipeline again on the data it trains on.
 */
export function checkedSplit(labels: Int32Array, groups: string[] | null, classes: readonly string[], sizes: SplitSizes, seed: number): CheckedSplit {
  const split = groupedStratifiedSplit(labels, groups, classes.length, sizes, seed);
  const counts = countsOf(labels, split, classes);
  const minRowsPerClass = minimumRowsPerClass(classes.length, sizes, seed);
  const missing = shortfalls(counts, sizes);
  const perClass = counts.map((c) => `"${c.label}" ${c.total} (${c.train}/${c.validation}/${c.test})`).join(', ');
  if (missing.length > 0) {
    const withoutValidation = sizes.validation > 0 ? minimumRowsPerClass(classes.length, { train: sizes.train + sizes.validation, validation: 0, test: sizes.test }, seed) : minRowsPerClass;
    const needs = SPLIT_NAMES.filter((name) => sizes[name] > 0)
      .map((name) => `${MIN_ROWS_PER_CLASS[name]} ${name}`)
      .join(', ');
    const short = new Map<string, string[]>();
    for (const m of missing) short.set(m.label, [...(short.get(m.label) ?? []), `${m.count} ${m.split}`]);
    const worst = [...short].map(([label, parts]) => `class "${label}" has ${parts.join(' and ')} row(s)`).join('; ');
    throw badInput(`Too few rows to train and evaluate: every class needs at least ${needs} row(s); ${worst}. ` +
        `Rows per class (train/validation/test): ${perClass}. ` +
        `With split ${splitLabel(sizes)} the smallest dataset that works has ${minRowsPerClass} rows per class ` +
        `(more when a star has several rows)${withoutValidation < minRowsPerClass ? `; with no validation split (validation 0), ${withoutValidation}` : ''}.`,
      'datasetId',
    );
  }
  const warnings = counts
    .filter((c) => c.test < SMALL_CLASS_ROWS.test || c.train < SMALL_CLASS_ROWS.train)
    .map(
      (c) =>
        `Class "${c.label}" is tiny: ${c.total} rows (train ${c.train}, validation ${c.validation}, test ${c.test}); ` +
        `its precision, recall and ROC AUC rest on ${c.test} test row${c.test === 1 ? '' : 's'} and will vary a lot with the seed ` +
        `(${SMALL_CLASS_ROWS.test}+ test and ${SMALL_CLASS_ROWS.train}+ training rows make them steadier).`,
    );
  return { split, counts, minRowsPerClass, warnings };
}
