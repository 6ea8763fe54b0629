/** Kernel functions of the SVM and the float32 kernel-column cache its SMO solver reads. */
import type { SvmKernel, SvmParams } from '../../catalog.js';
import type { Matrix } from '../../types.js';

export interface KernelSpec {
  kernel: SvmKernel;
  /** Resolved: a positive number ('scale' and 'auto' are computed from the training rows). */
  gamma: number;
  degree: number;
  coef0: number;
}

export function kernelValue(spec: KernelSpec, dotProduct: number, squaredNormA: number, squaredNormB: number): number {
  switch (spec.kernel) {
    case 'linear':
      return dotProduct;
    case 'poly':
      return Math.pow(spec.gamma * dotProduct + spec.coef0, spec.degree);
    case 'sigmoid':
      return Math.tanh(spec.gamma * dotProduct + spec.coef0);
    case 'rbf':
      return Math.exp(-spec.gamma * Math.max(0, squaredNormA + squaredNormB - 2 * dotProduct));
  }
}

export function dotRows(a: Float64Array, aStart: number, b: Float64Array, bStart: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[aStart + j] * b[bStart + j];
  return s;
}

export function squaredNorms(data: Float64Array, rows: number, d: number): Float64Array {
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) norms[i] = dotRows(data, i * d, data, i * d, d);
  return norms;
}

/**
 * Columns are carved from blocks of at least this many bytes. A column alone (4 bytes × rows: 40 KB at 10,000 rows) is
 * below glibc's mmap threshold, so thousands of them filled the training thread's malloc arena, which keeps the
 * pages after they are freed (a 10,000-row fit left ~250 MB in the process after its thread ended); blocks this size
 * are mapped on their own and returned whole once the cache is garbage.
 */
const COLUMN_BLOCK_BYTES = 1024 * 1024;

/** Kernel columns over the rows of one pair of classes, cached as float32 (as libsvm's Qfloat) with LRU eviction. */
export class KernelColumns {
  private readonly columns: (Float32Array | undefined)[];
  private readonly recent = new Map<number, true>();
  private readonly capacity: number;
  /** The current block's unused columns, and how many columns all blocks hold so far. */
  private block: { data: Float32Array; next: number; count: number } | null = null;
  private carved = 0;
  readonly diagonal: Float64Array;

  constructor(
    private readonly data: Float64Array,
    private readonly rows: number,
    private readonly d: number,
    private readonly spec: KernelSpec,
    private readonly norms: Float64Array,
    cacheBytes: number,
  ) {
    this.columns = new Array<Float32Array | undefined>(rows);
    this.capacity = Math.max(2, Math.floor(cacheBytes / (4 * Math.max(1, rows))));
    this.diagonal = new Float64Array(rows);
    for (let i = 0; i < rows; i++) this.diagonal[i] = kernelValue(spec, norms[i], norms[i], norms[i]);
  }

  get(index: number): Float32Array {
    const cached = this.columns[index];
    if (cached) {
      if (this.capacity < this.rows) {
        this.recent.delete(index);
        this.recent.set(index, true);
      }
      return cached;
    }
    let column: Float32Array | undefined;
    if (this.capacity < this.rows && this.recent.size >= this.capacity) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) {
        this.recent.delete(oldest.value);
        // The evicted column's storage takes the new one (every entry is written below). It is the least recently
        // used, never a column the caller fetched last (capacity ≥ 2): SMO holds at most the two it just fetched.
        column = this.columns[oldest.value];
        this.columns[oldest.value] = undefined;
      }
    }
    column ??= this.newColumn();
    const { data, d, spec, norms } = this;
    const start = index * d;
    if (spec.kernel === 'rbf') {
      // The hot path: inlined so V8 does not dispatch on the kernel per entry.
      const gamma = spec.gamma;
      const own = norms[index];
      for (let q = 0, qStart = 0; q < this.rows; q++, qStart += d) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += data[start + j] * data[qStart + j];
        const distance = own + norms[q] - 2 * dot;
        column[q] = Math.exp(-gamma * (distance > 0 ? distance : 0));
      }
    } else {
      for (let q = 0; q < this.rows; q++)
        column[q] = kernelValue(spec, dotRows(data, start, data, q * d, d), norms[index], norms[q]);
    }
    this.columns[index] = column;
    if (this.capacity < this.rows) this.recent.set(index, true);
    return column;
  }

  /** A column's storage from the current block; a new block when it is used up (never more than the cache holds). */
  private newColumn(): Float32Array {
    const rows = this.rows;
    if (!this.block || this.block.next === this.block.count) {
      const perBlock = Math.max(1, Math.floor(COLUMN_BLOCK_BYTES / (4 * Math.max(1, rows))));
      const count = Math.max(1, Math.min(perBlock, Math.min(this.capacity, rows) - this.carved));
      this.block = { data: new Float32Array(count * rows), next: 0, count };
      this.carved += count;
    }
    const at = this.block.next++ * rows;
    return this.block.data.subarray(at, at + rows);
  }
}

/** Resolves scikit-learn's gamma: 'scale' = 1/(d·Var(X)) over all entries, 'auto' = 1/d, or a positive number. */
export function resolveGamma(gamma: SvmParams['gamma'], X: Matrix): number {
  const d = Math.max(1, X.cols);
  if (gamma === 'auto') return 1 / d;
  if (typeof gamma === 'number') return gamma;
  let mean = 0;
  const count = X.data.length;
  for (let i = 0; i < count; i++) mean += X.data[i];
  mean /= Math.max(1, count);
  let variance = 0;
  for (let i = 0; i < count; i++) variance += (X.data[i] - mean) ** 2;
  variance /= Math.max(1, count);
  return variance > 0 ? 1 / (d * variance) : 1;
}

/** The rows `rows` of a row-major matrix with `d` columns, copied. */
export function gatherRows(data: Float64Array, rows: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i] * d, rows[i] * d + d), i * d);
  return out;
}
