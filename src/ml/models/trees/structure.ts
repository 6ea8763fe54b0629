/**
 * Flat tree storage shared by every tree model: growable builder, packed ensemble used for prediction and
 * serialisation, and the public `TreeEnsemble` view that TreeSHAP reads.
 *
 * A node goes left when `x <= threshold`; NaN goes to the side given by `defaultLeft`. Child indices are
 * relative to the tree's first node; `feature = -1` marks a leaf.
 */

/** One tree, flat arrays indexed by node (root = 0). */
export interface FlatTree {
  readonly nodeCount: number;
  /** Split feature, -1 at leaves. */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** 1 when a missing value (NaN) goes left. */
  readonly defaultLeft: Uint8Array;
  /** Training weight reaching the node: (bootstrap-weighted) sample count for forests, hessian sum for boosting. */
  readonly cover: Float64Array;
  /** nodeCount × valueWidth, row-major; read at leaves. */
  readonly values: Float64Array;
  /** Values per node: the ensemble's numOutputs, or 1 when the tree feeds a single output (see `output`). */
  readonly valueWidth: number;
  /** -1: `values` holds every output; k ≥ 0: the tree adds its single value to output k only (boosting). */
  readonly output: number;
}

/**
 * A tree model's structure. Output k of a row = baseScore[k] + treeScale × Σ_trees (the tree's leaf value for k).
 * 'probability': forest / single tree (mean of leaf class distributions, baseScore 0, treeScale 1/trees).
 * 'margin': boosting (raw softmax margin per class; probabilities = softmax of the margins).
 */
export interface TreeEnsemble {
  readonly numFeatures: number;
  readonly numOutputs: number;
  readonly outputSpace: 'probability' | 'margin';
  readonly baseScore: Float64Array;
  readonly treeScale: number;
  readonly trees: FlatTree[];
}

/** Arrays of one grown tree (before packing). `gain` is the split gain, used for importance and pruning. */
export interface TreeArrays {
  nodeCount: number;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  cover: Float64Array;
  values: Float64Array;
}

/** Growable node store used while a tree is grown. */
export class TreeBuilder {
  nodeCount = 0;
  feature: Int32Array;
  splitBin: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  cover: Float64Array;
  gain: Float64Array;
  values: Float64Array;

  constructor(
    readonly valueWidth: number,
    private capacity = 64,
  ) {
    this.feature = new Int32Array(capacity);
    this.splitBin = new Int32Array(capacity);
    this.threshold = new Float64Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.defaultLeft = new Uint8Array(capacity);
    this.cover = new Float64Array(capacity);
    this.gain = new Float64Array(capacity);
    this.values = new Float64Array(capacity * valueWidth);
  }

  /** Appends a leaf and returns its index. */
  addLeaf(cover: number): number {
    if (this.nodeCount === this.capacity) this.grow();
    const id = this.nodeCount++;
    this.feature[id] = -1;
    this.left[id] = -1;
    this.right[id] = -1;
    this.cover[id] = cover;
    return id;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const grown = <T extends Int32Array | Float64Array | Uint8Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.feature = grown(this.feature, cap);
    this.splitBin = grown(this.splitBin, cap);
    this.threshold = grown(this.threshold, cap);
    this.left = grown(this.left, cap);
    this.right = grown(this.right, cap);
    this.defaultLeft = grown(this.defaultLeft, cap);
    this.cover = grown(this.cover, cap);
    this.gain = grown(this.gain, cap);
    this.values = grown(this.values, cap * this.valueWidth);
    this.capacity = cap;
  }

  /** Trimmed copy of the tree reachable from the root, renumbered in pre-order (drops pruned subtrees). */
  finish(): TreeArrays {
    const order: number[] = [];
    const stack = [0];
    while (stack.length > 0) {
      const id = stack.pop()!;
      order.push(id);
      if (this.feature[id] >= 0) stack.push(this.right[id], this.left[id]);
    }
    const n = order.length;
    const newIndex = new Int32Array(this.nodeCount).fill(-1);
    for (let i = 0; i < n; i++) newIndex[order[i]] = i;
    const w = this.valueWidth;
    const out: TreeArrays = {
      nodeCount: n,
      feature: new Int32Array(n),
      threshold: new Float64Array(n),
      left: new Int32Array(n),
      right: new Int32Array(n),
      defaultLeft: new Uint8Array(n),
      cover: new Float64Array(n),
      values: new Float64Array(n * w),
    };
    for (let i = 0; i < n; i++) {
      const id = order[i];
      const leaf = this.feature[id] < 0;
      out.feature[i] = leaf ? -1 : this.feature[id];
      out.threshold[i] = leaf ? 0 : this.threshold[id];
      out.left[i] = leaf ? -1 : newIndex[this.left[id]];
      out.right[i] = leaf ? -1 : newIndex[this.right[id]];
      out.defaultLeft[i] = leaf ? 0 : this.defaultLeft[id];
      out.cover[i] = this.cover[id];
      for (let k = 0; k < w; k++) out.values[i * w + k] = this.values[id * w + k];
    }
    return out;
  }
}

/** All trees of a model concatenated: one set of arrays, `treeStart[t]` = first node of tree t. */
export class PackedTrees {
  constructor(
    readonly treeStart: Int32Array,
    readonly feature: Int32Array,
    readonly threshold: Float64Array,
    readonly left: Int32Array,
    readonly right: Int32Array,
    readonly defaultLeft: Uint8Array,
    readonly cover: Float64Array,
    readonly values: Float64Array,
    readonly valueWidth: number,
    /** Per tree: the output it feeds, or null when every tree holds all outputs. */
    readonly treeOutput: Int32Array | null,
  ) {}

  get treeCount(): number {
    return this.treeStart.length - 1;
  }

  static pack(trees: TreeArrays[], valueWidth: number, treeOutput: Int32Array | null): PackedTrees {
    const treeStart = new Int32Array(trees.length + 1);
    for (let t = 0; t < trees.length; t++) treeStart[t + 1] = treeStart[t] + trees[t].nodeCount;
    const n = treeStart[trees.length];
    const packed = new PackedTrees(
      treeStart,
      new Int32Array(n),
      new Float64Array(n),
      new Int32Array(n),
      new Int32Array(n),
      new Uint8Array(n),
      new Float64Array(n),
      new Float64Array(n * valueWidth),
      valueWidth,
      treeOutput,
    );
    for (let t = 0; t < trees.length; t++) {
      const s = treeStart[t];
      const tree = trees[t];
      packed.feature.set(tree.feature, s);
      packed.threshold.set(tree.threshold, s);
      packed.left.set(tree.left, s);
      packed.right.set(tree.right, s);
      packed.defaultLeft.set(tree.defaultLeft, s);
      packed.cover.set(tree.cover, s);
      packed.values.set(tree.values, s * valueWidth);
    }
    return packed;
  }

  /** The first `count` trees (early stopping keeps the best iteration). */
  slice(count: number): PackedTrees {
    const n = this.treeStart[count];
    return new PackedTrees(
      this.treeStart.slice(0, count + 1),
      this.feature.slice(0, n),
      this.threshold.slice(0, n),
      this.left.slice(0, n),
      this.right.slice(0, n),
      this.defaultLeft.slice(0, n),
      this.cover.slice(0, n),
      this.values.slice(0, n * this.valueWidth),
      this.valueWidth,
      this.treeOutput ? this.treeOutput.slice(0, count) : null,
    );
  }

  private compiled: { rec: Int32Array; depth: Int32Array } | null = null;

  /**
   * Node records for prediction, 4 ints per node: feature, left, right, child taken by NaN (absolute indices).
   * Leaves loop to themselves on feature 0, so a walk of exactly `depth` steps ends at the right leaf without
   * testing for leaves. One record per node keeps a step to two memory reads (record + threshold).
   */
  private nodeRecords(): { rec: Int32Array; depth: Int32Array } {
    if (this.compiled) return this.compiled;
    const n = this.feature.length;
    const rec = new Int32Array(n * 4);
    const depth = new Int32Array(this.treeCount);
    const nodeDepth = new Int32Array(n);
    for (let t = 0; t < this.treeCount; t++) {
      const s = this.treeStart[t];
      for (let i = s; i < this.treeStart[t + 1]; i++) {
        if (this.feature[i] < 0) {
          rec[4 * i] = 0;
          rec[4 * i + 1] = rec[4 * i + 2] = rec[4 * i + 3] = i;
          if (nodeDepth[i] > depth[t]) depth[t] = nodeDepth[i];
          continue;
        }
        const l = s + this.left[i];
        const r = s + this.right[i];
        rec[4 * i] = this.feature[i];
        rec[4 * i + 1] = l;
        rec[4 * i + 2] = r;
        rec[4 * i + 3] = this.defaultLeft[i] === 1 ? l : r;
        nodeDepth[l] = nodeDepth[r] = nodeDepth[i] + 1;
      }
    }
    this.compiled = { rec, depth };
    return this.compiled;
  }

  /**
   * Adds every tree's leaf values into `out` (rows × outWidth): a tree with an output adds its one value to that
   * column, other trees add their valueWidth values. Rows go in blocks; within a block several rows
   * walk a tree side by side, branch-free, so their memory reads overlap (a single walk is latency-bound).
   */
  accumulate(data: Float64Array, rows: number, cols: number, out: Float64Array, outWidth: number): void {
    const { threshold: th, values, valueWidth, treeOutput, feature } = this;
    const { rec, depth } = this.nodeRecords();
    // Measured: big blocks win for deep forests (tree nodes are the cache misses), 1024 is as good for boosting.
    const BLOCK = 1024;
    const leaves = new Int32Array(BLOCK);
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(rows, r0 + BLOCK);
      for (let t = 0; t < this.treeCount; t++) {
        const root = this.treeStart[t];
        const steps = depth[t];
        let r = r0;
        if (steps <= 16) {
          // Shallow trees: exactly `steps` steps for 8 rows at once.
          for (; r + 8 <= r1; r += 8) {
            const b = r * cols;
            let n0 = root, n1 = root, n2 = root, n3 = root, n4 = root, n5 = root, n6 = root, n7 = root;
            for (let d = 0; d < steps; d++) {
              let x = data[b + rec[4 * n0]];
              n0 = rec[4 * n0 + 1 + +(x > th[n0]) + 2 * +(x !== x)];
              x = data[b + cols + rec[4 * n1]];
              n1 = rec[4 * n1 + 1 + +(x > th[n1]) + 2 * +(x !== x)];
              x = data[b + 2 * cols + rec[4 * n2]];
              n2 = rec[4 * n2 + 1 + +(x > th[n2]) + 2 * +(x !== x)];
              x = data[b + 3 * cols + rec[4 * n3]];
              n3 = rec[4 * n3 + 1 + +(x > th[n3]) + 2 * +(x !== x)];
              x = data[b + 4 * cols + rec[4 * n4]];
              n4 = rec[4 * n4 + 1 + +(x > th[n4]) + 2 * +(x !== x)];
              x = data[b + 5 * cols + rec[4 * n5]];
              n5 = rec[4 * n5 + 1 + +(x > th[n5]) + 2 * +(x !== x)];
              x = data[b + 6 * cols + rec[4 * n6]];
              n6 = rec[4 * n6 + 1 + +(x > th[n6]) + 2 * +(x !== x)];
              x = data[b + 7 * cols + rec[4 * n7]];
              n7 = rec[4 * n7 + 1 + +(x > th[n7]) + 2 * +(x !== x)];
            }
            const o = r - r0;
            leaves[o] = n0;
            leaves[o + 1] = n1;
            leaves[o + 2] = n2;
            leaves[o + 3] = n3;
            leaves[o + 4] = n4;
            leaves[o + 5] = n5;
            leaves[o + 6] = n6;
            leaves[o + 7] = n7;
          }
        } else {
          // Deep, unbalanced trees: 4 rows side by side, each stopping at its own leaf.
          for (; r + 4 <= r1; r += 4) {
            const b = r * cols;
            let n0 = root, n1 = root, n2 = root, n3 = root;
            let f0 = feature[root], f1 = f0, f2 = f0, f3 = f0;
            // Sign bits: the AND is negative only once all four rows sit on leaves (leaves loop to themselves).
            while ((f0 & f1 & f2 & f3) >= 0) {
              let x = data[b + rec[4 * n0]];
              n0 = rec[4 * n0 + 1 + +(x > th[n0]) + 2 * +(x !== x)];
              x = data[b + cols + rec[4 * n1]];
              n1 = rec[4 * n1 + 1 + +(x > th[n1]) + 2 * +(x !== x)];
              x = data[b + 2 * cols + rec[4 * n2]];
              n2 = rec[4 * n2 + 1 + +(x > th[n2]) + 2 * +(x !== x)];
              x = data[b + 3 * cols + rec[4 * n3]];
              n3 = rec[4 * n3 + 1 + +(x > th[n3]) + 2 * +(x !== x)];
              f0 = feature[n0];
              f1 = feature[n1];
              f2 = feature[n2];
              f3 = feature[n3];
            }
            const o = r - r0;
            leaves[o] = n0;
            leaves[o + 1] = n1;
            leaves[o + 2] = n2;
            leaves[o + 3] = n3;
          }
        }
        for (; r < r1; r++) {
          const b = r * cols;
          let node = root;
          while (feature[node] >= 0) {
            const x = data[b + rec[4 * node]];
            node = rec[4 * node + 1 + +(x > th[node]) + 2 * +(x !== x)];
          }
          leaves[r - r0] = node;
        }
        if (treeOutput) {
          const column = treeOutput[t];
          for (let i = r0; i < r1; i++) out[i * outWidth + column] += values[leaves[i - r0]];
        } else {
          for (let i = r0; i < r1; i++) {
            const vb = leaves[i - r0] * valueWidth;
            const ob = i * outWidth;
            for (let k = 0; k < valueWidth; k++) out[ob + k] += values[vb + k];
          }
        }
      }
    }
  }

  /** Per-tree views with tree-relative indices (no copies) for TreeSHAP and inspection. */
  flatTrees(numOutputs: number): FlatTree[] {
    const trees: FlatTree[] = [];
    for (let t = 0; t < this.treeCount; t++) {
      const s = this.treeStart[t];
      const e = this.treeStart[t + 1];
      trees.push({
        nodeCount: e - s,
        feature: this.feature.subarray(s, e),
        threshold: this.threshold.subarray(s, e),
        left: this.left.subarray(s, e),
        right: this.right.subarray(s, e),
        defaultLeft: this.defaultLeft.subarray(s, e),
        cover: this.cover.subarray(s, e),
        values: this.values.subarray(s * this.valueWidth, e * this.valueWidth),
        valueWidth: this.treeOutput ? 1 : numOutputs,
        output: this.treeOutput ? this.treeOutput[t] : -1,
      });
    }
    return trees;
  }

  toJSON(): SerializedTrees {
    return {
      treeStart: encode(this.treeStart),
      feature: encode(this.feature),
      threshold: encode(this.threshold),
      left: encode(this.left),
      right: encode(this.right),
      defaultLeft: encode(this.defaultLeft),
      cover: encode(this.cover),
      values: encode(this.values),
      valueWidth: this.valueWidth,
      treeOutput: this.treeOutput ? encode(this.treeOutput) : null,
    };
  }

  static fromJSON(json: SerializedTrees): PackedTrees {
    return new PackedTrees(
      new Int32Array(decode(json.treeStart)),
      new Int32Array(decode(json.feature)),
      new Float64Array(decode(json.threshold)),
      new Int32Array(decode(json.left)),
      new Int32Array(decode(json.right)),
      new Uint8Array(decode(json.defaultLeft)),
      new Float64Array(decode(json.cover)),
      new Float64Array(decode(json.values)),
      json.valueWidth,
      json.treeOutput ? new Int32Array(decode(json.treeOutput)) : null,
    );
  }
}

/** Typed arrays as base64 of their little-endian bytes: compact and bit-exact through JSON. */
export interface SerializedTrees {
  treeStart: string;
  feature: string;
  threshold: string;
  left: string;
  right: string;
  defaultLeft: string;
  cover: string;
  values: string;
  valueWidth: number;
  treeOutput: string | null;
}

function encode(a: Int32Array | Float64Array | Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** Decodes into a fresh, aligned ArrayBuffer. */
function decode(s: unknown): ArrayBuffer {
  if (typeof s !== 'string') throw new TypeError('serialised tree array must be a base64 string');
  const bytes = Buffer.from(s, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

/** Reads a serialised-trees object defensively (it comes from storage). */
export function serializedTreesOf(value: unknown): SerializedTrees {
  if (typeof value !== 'object' || value === null) throw new TypeError('model JSON has no trees');
  return value as SerializedTrees;
}

/** Leaf reached by the row starting at `rowBase` in row-major `data`. */
export function leafOf(tree: TreeArrays, data: Float64Array, rowBase: number): number {
  const { feature, threshold, left, right, defaultLeft } = tree;
  let node = 0;
  let f = feature[0];
  while (f >= 0) {
    const x = data[rowBase + f];
    const th = threshold[node];
    node = x <= th ? left[node] : x > th ? right[node] : defaultLeft[node] === 1 ? left[node] : right[node];
    f = feature[node];
  }
  return node;
}
