/**
 * Flat tree storage shared by every tree model: growable builder, packed ensemble used for prediction and
 * serialisation, and the public `TreeEnsemble` view that TreeSHAP reads.
 *
 * A node goes left when `x <= threshold`; NaN goes to the side given by `defaultLeft`. Child indices are
 * relative to the tree's first node; `feature = -1` marks a leaf.
 */
import { StoredBytes, type StoredFields } from '../stored.js';

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

/**
 * Arrays of one grown tree (before packing). `values` are the leaves' (valueWidth each); split nodes hold zeros.
 */
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

/** A tree of `nodeCount` nodes, every array zeroed, `valueWidth` values per node. */
export function emptyTreeArrays(nodeCount: number, valueWidth: number): TreeArrays {
  return {
    nodeCount,
    feature: new Int32Array(nodeCount),
    threshold: new Float64Array(nodeCount),
    left: new Int32Array(nodeCount),
    right: new Int32Array(nodeCount),
    defaultLeft: new Uint8Array(nodeCount),
    cover: new Float64Array(nodeCount),
    values: new Float64Array(nodeCount * valueWidth),
  };
}

/** One tree's nodes copied into concatenated node arrays from node `start` (its values from `start × valueWidth`). */
export function copyTreeInto(
  into: Omit<TreeArrays, 'nodeCount'>,
  tree: TreeArrays,
  start: number,
  valueWidth: number,
): void {
  into.feature.set(tree.feature, start);
  into.threshold.set(tree.threshold, start);
  into.left.set(tree.left, start);
  into.right.set(tree.right, start);
  into.defaultLeft.set(tree.defaultLeft, start);
  into.cover.set(tree.cover, start);
  into.values.set(tree.values, start * valueWidth);
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
      const id = stack.pop() ?? 0; // the loop condition guarantees a value
      order.push(id);
      if (this.feature[id] >= 0) stack.push(this.right[id], this.left[id]);
    }
    const n = order.length;
    const newIndex = new Int32Array(this.nodeCount).fill(-1);
    for (let i = 0; i < n; i++) newIndex[order[i]] = i;
    const w = this.valueWidth;
    const out = emptyTreeArrays(n, w);
    for (let i = 0; i < n; i++) {
      const id = order[i];
      const leaf = this.feature[id] < 0;
      out.feature[i] = leaf ? -1 : this.feature[id];
      out.threshold[i] = leaf ? 0 : this.threshold[id];
      out.left[i] = leaf ? -1 : newIndex[this.left[id]];
      out.right[i] = leaf ? -1 : newIndex[this.right[id]];
      out.defaultLeft[i] = leaf ? 0 : this.defaultLeft[id];
      out.cover[i] = this.cover[id];
      // Leaves only: prediction and TreeSHAP read nothing else, and split nodes' zeros compress to almost nothing
      // (a 100-tree forest at 35,000 rows: values 3.6 → 0.75 MB gzipped, the artefact 10.2 → 7.4 MB).
      if (leaf) for (let k = 0; k < w; k++) out.values[i * w + k] = this.values[id * w + k];
    }
    return out;
  }
}

function sharedInts(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * 4));
}

function sharedFloats(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** Trees at most this deep also get the complete-binary-tree layout (2^depth leaf slots each). */
const IMPLICIT_MAX_DEPTH = 10;
/** Below this many rows accumulate walks each row's trees side by side (accumulateFew) instead of rows. */
const FEW_ROWS = 4;

/** A model's prediction layout (PackedTrees.predictLayout), on SharedArrayBuffers. */
export interface CompiledTrees {
  rec: Int32Array;
  /** Leaf depth bound per tree. */
  depth: Int32Array;
  /** Per tree: offset of its complete layout in splitKey / splitThreshold, -1 when the tree is too deep. */
  splitStart: Int32Array;
  /** Per slot: feature × 2 + (1 when NaN goes right). */
  splitKey: Int32Array;
  splitThreshold: Float64Array;
  /** Per tree: offset of its 2^depth leaf slots in leafNode (absolute node index of the leaf reached). */
  leafStart: Int32Array;
  leafNode: Int32Array;
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

  /**
   * The trees concatenated, on SharedArrayBuffers: predict-parallel's helper thread then reads these arrays instead
   * of a copy (a 100-tree forest at 200,000 rows is 151 MB of nodes).
   */
  static pack(trees: TreeArrays[], valueWidth: number, treeOutput: Int32Array | null): PackedTrees {
    const treeStart = sharedInts(trees.length + 1);
    for (let t = 0; t < trees.length; t++) treeStart[t + 1] = treeStart[t] + trees[t].nodeCount;
    const n = treeStart[trees.length];
    const packed = new PackedTrees(
      treeStart,
      sharedInts(n),
      sharedFloats(n),
      sharedInts(n),
      sharedInts(n),
      new Uint8Array(new SharedArrayBuffer(n)),
      sharedFloats(n),
      sharedFloats(n * valueWidth),
      valueWidth,
      treeOutput,
    );
    for (let t = 0; t < trees.length; t++) copyTreeInto(packed, trees[t], treeStart[t], valueWidth);
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

  private compiled: CompiledTrees | null = null;

  /**
   * Prediction layouts, built once per model. Every tree gets node records, 4 ints per node: feature, left,
   * right, child taken by NaN (absolute indices); leaves loop to themselves on feature 0. One record per node
   * keeps a step to two memory reads (record + threshold). Shallow trees (depth ≤ IMPLICIT_MAX_DEPTH, e.g.
   * boosting) are also laid out as complete binary trees (children of i at 2i+1, 2i+2; a leaf above the last
   * level becomes splits whose both sides are that leaf), so a step needs no child-index load at all.
   * On shared memory: predict-parallel's helper thread reads this layout instead of building its own (a 100-tree
   * forest at 200,000 rows: 56 MB of records).
   */
  predictLayout(): CompiledTrees {
    if (this.compiled) return this.compiled;
    const n = this.feature.length;
    const T = this.treeCount;
    const rec = sharedInts(n * 4);
    const depth = sharedInts(T);
    const nodeDepth = new Int32Array(n);
    for (let t = 0; t < T; t++) {
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
    const splitStart = sharedInts(T).fill(-1);
    const leafStart = sharedInts(T);
    let splits = 0;
    let leaves = 0;
    for (let t = 0; t < T; t++) {
      if (depth[t] > IMPLICIT_MAX_DEPTH) continue;
      splitStart[t] = splits;
      leafStart[t] = leaves;
      splits += (1 << depth[t]) - 1;
      leaves += 1 << depth[t];
    }
    const splitKey = sharedInts(splits);
    const splitThreshold = sharedFloats(splits);
    const leafNode = sharedInts(leaves);
    for (let t = 0; t < T; t++) {
      if (splitStart[t] < 0) continue;
      const D = depth[t];
      const fill = (slot: number, node: number, d: number): void => {
        if (d === D) {
          leafNode[leafStart[t] + slot - ((1 << D) - 1)] = node;
          return;
        }
        const f = this.feature[node];
        if (f >= 0) {
          // feature × 2 + (1 when NaN goes right): one load gives both.
          splitKey[splitStart[t] + slot] = 2 * f + (this.defaultLeft[node] === 1 ? 0 : 1);
          splitThreshold[splitStart[t] + slot] = this.threshold[node];
        }
        const l = f >= 0 ? this.treeStart[t] + this.left[node] : node;
        const r = f >= 0 ? this.treeStart[t] + this.right[node] : node;
        fill(2 * slot + 1, l, d + 1);
        fill(2 * slot + 2, r, d + 1);
      };
      fill(0, this.treeStart[t], 0);
    }
    this.compiled = { rec, depth, splitStart, splitKey, splitThreshold, leafStart, leafNode };
    return this.compiled;
  }

  /** Uses `layout`, built by predictLayout of a model with these same arrays (the helper thread's copy of it). */
  adoptPredictLayout(layout: CompiledTrees): void {
    this.compiled = layout;
  }

  /**
   * Adds every tree's leaf values into `out` (rows × outWidth): a tree with an output adds its one value to that
   * column, other trees add their valueWidth values. Rows go in blocks; within a block several rows
   * walk a tree side by side, branch-free, so their memory reads overlap (a single walk is latency-bound).
   * Each row still adds the trees in order, so results do not depend on the layout used.
   */
  accumulate(data: Float64Array, rows: number, cols: number, out: Float64Array, outWidth: number): void {
    if (rows < FEW_ROWS) {
      this.accumulateFew(data, rows, cols, out, outWidth);
      return;
    }
    const { threshold: th, values, valueWidth, treeOutput, feature } = this;
    const { rec, depth, splitStart, splitKey: key, splitThreshold: sth, leafStart, leafNode } = this.predictLayout();
    // Measured: big blocks win for deep forests (tree nodes are the cache misses), 1024 is as good for boosting.
    const BLOCK = 1024;
    const leaves = new Int32Array(Math.min(BLOCK, rows));
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(rows, r0 + BLOCK);
      for (let t = 0; t < this.treeCount; t++) {
        const root = this.treeStart[t];
        const steps = depth[t];
        if (splitStart[t] >= 0) {
          // Complete layout: exactly `steps` steps, 8 rows at once; the slot after the last step names the leaf.
          const k0 = splitStart[t];
          const firstLeaf = (1 << steps) - 1;
          const l0 = leafStart[t] - firstLeaf;
          let r = r0;
          for (; r + 8 <= r1; r += 8) {
            const b = r * cols;
            let n0 = 0,
              n1 = 0,
              n2 = 0,
              n3 = 0,
              n4 = 0,
              n5 = 0,
              n6 = 0,
              n7 = 0;
            for (let d = 0; d < steps; d++) {
              let k = key[k0 + n0];
              let x = data[b + (k >> 1)];
              n0 = 2 * n0 + 1 + (+(x > sth[k0 + n0]) | (k & +(x !== x)));
              k = key[k0 + n1];
              x = data[b + cols + (k >> 1)];
              n1 = 2 * n1 + 1 + (+(x > sth[k0 + n1]) | (k & +(x !== x)));
              k = key[k0 + n2];
              x = data[b + 2 * cols + (k >> 1)];
              n2 = 2 * n2 + 1 + (+(x > sth[k0 + n2]) | (k & +(x !== x)));
              k = key[k0 + n3];
              x = data[b + 3 * cols + (k >> 1)];
              n3 = 2 * n3 + 1 + (+(x > sth[k0 + n3]) | (k & +(x !== x)));
              k = key[k0 + n4];
              x = data[b + 4 * cols + (k >> 1)];
              n4 = 2 * n4 + 1 + (+(x > sth[k0 + n4]) | (k & +(x !== x)));
              k = key[k0 + n5];
              x = data[b + 5 * cols + (k >> 1)];
              n5 = 2 * n5 + 1 + (+(x > sth[k0 + n5]) | (k & +(x !== x)));
              k = key[k0 + n6];
              x = data[b + 6 * cols + (k >> 1)];
              n6 = 2 * n6 + 1 + (+(x > sth[k0 + n6]) | (k & +(x !== x)));
              k = key[k0 + n7];
              x = data[b + 7 * cols + (k >> 1)];
              n7 = 2 * n7 + 1 + (+(x > sth[k0 + n7]) | (k & +(x !== x)));
            }
            const o = r - r0;
            leaves[o] = leafNode[l0 + n0];
            leaves[o + 1] = leafNode[l0 + n1];
            leaves[o + 2] = leafNode[l0 + n2];
            leaves[o + 3] = leafNode[l0 + n3];
            leaves[o + 4] = leafNode[l0 + n4];
            leaves[o + 5] = leafNode[l0 + n5];
            leaves[o + 6] = leafNode[l0 + n6];
            leaves[o + 7] = leafNode[l0 + n7];
          }
          for (; r < r1; r++) {
            const b = r * cols;
            let n = 0;
            for (let d = 0; d < steps; d++) {
              const k = key[k0 + n];
              const x = data[b + (k >> 1)];
              n = 2 * n + 1 + (+(x > sth[k0 + n]) | (k & +(x !== x)));
            }
            leaves[r - r0] = leafNode[l0 + n];
          }
        } else {
          // Deep, unbalanced trees: 4 lanes, each walking its own row; a lane that reaches a leaf records it and
          // takes the next row, so no lane idles while another row is still deep (leaf depths vary a lot).
          const L = Math.min(4, r1 - r0);
          let next = r0 + L;
          let i0 = r0,
            i1 = r0 + 1,
            i2 = r0 + 2,
            i3 = r0 + 3;
          // With fewer than 4 rows, the spare lanes start done (index -1) and shadow lane 0's walk unrecorded.
          let b0 = i0 * cols,
            b1 = i1 * cols,
            b2 = i2 * cols,
            b3 = i3 * cols;
          let n0 = root,
            n1 = root,
            n2 = root,
            n3 = root;
          let active = L;
          if (L < 4) i3 = -1;
          if (L < 3) i2 = -1;
          if (L < 2) i1 = -1;
          if (i1 < 0) {
            b1 = b0;
            n1 = n0;
          }
          if (i2 < 0) {
            b2 = b0;
            n2 = n0;
          }
          if (i3 < 0) {
            b3 = b0;
            n3 = n0;
          }
          if (feature[root] < 0) {
            for (let i = r0; i < r1; i++) leaves[i - r0] = root;
            active = 0;
          }
          while (active > 0) {
            let x = data[b0 + rec[4 * n0]];
            n0 = rec[4 * n0 + 1 + +(x > th[n0]) + 2 * +(x !== x)];
            x = data[b1 + rec[4 * n1]];
            n1 = rec[4 * n1 + 1 + +(x > th[n1]) + 2 * +(x !== x)];
            x = data[b2 + rec[4 * n2]];
            n2 = rec[4 * n2 + 1 + +(x > th[n2]) + 2 * +(x !== x)];
            x = data[b3 + rec[4 * n3]];
            n3 = rec[4 * n3 + 1 + +(x > th[n3]) + 2 * +(x !== x)];
            if (feature[n0] < 0 && i0 >= 0) {
              leaves[i0 - r0] = n0;
              if (next < r1) {
                i0 = next++;
                b0 = i0 * cols;
                n0 = root;
              } else {
                i0 = -1;
                active--;
              }
            }
            if (feature[n1] < 0 && i1 >= 0) {
              leaves[i1 - r0] = n1;
              if (next < r1) {
                i1 = next++;
                b1 = i1 * cols;
                n1 = root;
              } else {
                i1 = -1;
                active--;
              }
            }
            if (feature[n2] < 0 && i2 >= 0) {
              leaves[i2 - r0] = n2;
              if (next < r1) {
                i2 = next++;
                b2 = i2 * cols;
                n2 = root;
              } else {
                i2 = -1;
                active--;
              }
            }
            if (feature[n3] < 0 && i3 >= 0) {
              leaves[i3 - r0] = n3;
              if (next < r1) {
                i3 = next++;
                b3 = i3 * cols;
                n3 = root;
              } else {
                i3 = -1;
                active--;
              }
            }
          }
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

  /** accumulateFew's leaf per tree of the row it walks, the deep trees' indices and the others' by depth. */
  private fewScratch: { leafOf: Int32Array; deepTrees: Int32Array; shallowTrees: Int32Array } | null = null;

  /**
   * accumulate for fewer rows than the row lanes (a single-row predict): one row at a time, its trees walked four
   * side by side (lanes over trees instead of rows, so their node reads overlap; complete layouts four of one depth),
   * then the leaves' values added in tree order as accumulate adds them: the same sums, bit for bit.
   */
  private accumulateFew(data: Float64Array, rows: number, cols: number, out: Float64Array, outWidth: number): void {
    const { threshold: th, values, valueWidth, treeOutput, treeStart } = this;
    const { rec, depth, splitStart, splitKey: key, splitThreshold: sth, leafStart, leafNode } = this.predictLayout();
    const T = this.treeCount;
    if (!this.fewScratch) {
      const deep: number[] = [];
      const shallow: number[] = [];
      for (let t = 0; t < T; t++) (splitStart[t] < 0 ? deep : shallow).push(t);
      // By depth, so that runs of four trees of one depth walk side by side (a stable sort: tree order within).
      shallow.sort((a, c) => depth[a] - depth[c]);
      this.fewScratch = {
        leafOf: new Int32Array(T),
        deepTrees: Int32Array.from(deep),
        shallowTrees: Int32Array.from(shallow),
      };
    }
    const { leafOf, deepTrees, shallowTrees } = this.fewScratch;
    const D = deepTrees.length;
    const S = shallowTrees.length;
    for (let r = 0; r < rows; r++) {
      const b = r * cols;
      let i = 0;
      // Complete layouts of one depth, four trees at once: exactly `steps` steps each, the final slot names the leaf.
      while (i < S) {
        // (Sorted by depth: the first and fourth of a run of one depth share it with the two between.)
        for (; i + 4 <= S && depth[shallowTrees[i]] === depth[shallowTrees[i + 3]]; i += 4) {
          const t0 = shallowTrees[i],
            t1 = shallowTrees[i + 1],
            t2 = shallowTrees[i + 2],
            t3 = shallowTrees[i + 3];
          const steps = depth[t0];
          const k0 = splitStart[t0],
            k1 = splitStart[t1],
            k2 = splitStart[t2],
            k3 = splitStart[t3];
          let n0 = 0,
            n1 = 0,
            n2 = 0,
            n3 = 0;
          for (let d = 0; d < steps; d++) {
            let k = key[k0 + n0];
            let x = data[b + (k >> 1)];
            n0 = 2 * n0 + 1 + (+(x > sth[k0 + n0]) | (k & +(x !== x)));
            k = key[k1 + n1];
            x = data[b + (k >> 1)];
            n1 = 2 * n1 + 1 + (+(x > sth[k1 + n1]) | (k & +(x !== x)));
            k = key[k2 + n2];
            x = data[b + (k >> 1)];
            n2 = 2 * n2 + 1 + (+(x > sth[k2 + n2]) | (k & +(x !== x)));
            k = key[k3 + n3];
            x = data[b + (k >> 1)];
            n3 = 2 * n3 + 1 + (+(x > sth[k3 + n3]) | (k & +(x !== x)));
          }
          const firstLeaf = (1 << steps) - 1;
          leafOf[t0] = leafNode[leafStart[t0] - firstLeaf + n0];
          leafOf[t1] = leafNode[leafStart[t1] - firstLeaf + n1];
          leafOf[t2] = leafNode[leafStart[t2] - firstLeaf + n2];
          leafOf[t3] = leafNode[leafStart[t3] - firstLeaf + n3];
        }
        if (i === S) break;
        // A tree left over before the next depth's run walks alone.
        const t = shallowTrees[i++];
        const k0 = splitStart[t];
        let n = 0;
        for (let d = 0; d < depth[t]; d++) {
          const k = key[k0 + n];
          const x = data[b + (k >> 1)];
          n = 2 * n + 1 + (+(x > sth[k0 + n]) | (k & +(x !== x)));
        }
        leafOf[t] = leafNode[leafStart[t] - ((1 << depth[t]) - 1) + n];
      }
      let next = 0;
      if (D < 4) {
        for (; next < D; next++) {
          const t = deepTrees[next];
          let n = treeStart[t];
          while (rec[4 * n + 1] !== n) {
            const x = data[b + rec[4 * n]];
            n = rec[4 * n + 1 + +(x > th[n]) + 2 * +(x !== x)];
          }
          leafOf[t] = n;
        }
      } else {
        // A lane at a leaf stays there (leaves loop to themselves): a lane with no tree left idles harmlessly. A leaf
        // is told by its record (its children are itself), the line the next step reads anyway, not by `feature`:
        // one memory stream fewer, 4-6 % off a single row's walk of a 100-tree forest (17.9 -> 17.1 us).
        let t0 = deepTrees[0],
          t1 = deepTrees[1],
          t2 = deepTrees[2],
          t3 = deepTrees[3];
        let n0 = treeStart[t0],
          n1 = treeStart[t1],
          n2 = treeStart[t2],
          n3 = treeStart[t3];
        next = 4;
        let active = 4;
        while (active > 0) {
          let x = data[b + rec[4 * n0]];
          n0 = rec[4 * n0 + 1 + +(x > th[n0]) + 2 * +(x !== x)];
          x = data[b + rec[4 * n1]];
          n1 = rec[4 * n1 + 1 + +(x > th[n1]) + 2 * +(x !== x)];
          x = data[b + rec[4 * n2]];
          n2 = rec[4 * n2 + 1 + +(x > th[n2]) + 2 * +(x !== x)];
          x = data[b + rec[4 * n3]];
          n3 = rec[4 * n3 + 1 + +(x > th[n3]) + 2 * +(x !== x)];
          if (rec[4 * n0 + 1] === n0 && t0 >= 0) {
            leafOf[t0] = n0;
            if (next < D) n0 = treeStart[(t0 = deepTrees[next++])];
            else {
              t0 = -1;
              active--;
            }
          }
          if (rec[4 * n1 + 1] === n1 && t1 >= 0) {
            leafOf[t1] = n1;
            if (next < D) n1 = treeStart[(t1 = deepTrees[next++])];
            else {
              t1 = -1;
              active--;
            }
          }
          if (rec[4 * n2 + 1] === n2 && t2 >= 0) {
            leafOf[t2] = n2;
            if (next < D) n2 = treeStart[(t2 = deepTrees[next++])];
            else {
              t2 = -1;
              active--;
            }
          }
          if (rec[4 * n3 + 1] === n3 && t3 >= 0) {
            leafOf[t3] = n3;
            if (next < D) n3 = treeStart[(t3 = deepTrees[next++])];
            else {
              t3 = -1;
              active--;
            }
          }
        }
      }
      const ob = r * outWidth;
      if (treeOutput) for (let t = 0; t < T; t++) out[ob + treeOutput[t]] += values[leafOf[t]];
      else
        for (let t = 0; t < T; t++) {
          const vb = leafOf[t] * valueWidth;
          for (let k = 0; k < valueWidth; k++) out[ob + k] += values[vb + k];
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

  /**
   * The stored form: split nodes' values are left out (`leafValues`, leaves in node order) and so is `left` when
   * every split's left child is the next node (the pre-order layout TreeBuilder.finish writes): both are derived on
   * loading. A 100-tree forest at 35,000 rows: 36.3 → 26.6 MB to gzip (its CPU goes with the bytes, ~5 ms a MB).
   */
  toJSON(): SerializedTrees {
    const { treeStart, feature, left, valueWidth: w } = this;
    let preorder = true;
    for (let t = 0; t < this.treeCount; t++) {
      const s = treeStart[t];
      for (let v = s; v < treeStart[t + 1]; v++) if (feature[v] >= 0 && left[v] !== v - s + 1) preorder = false;
    }
    return {
      treeStart: encode(treeStart),
      feature: encode(feature),
      threshold: encode(this.threshold),
      ...(preorder ? {} : { left: encode(left) }),
      right: encode(this.right),
      defaultLeft: encode(this.defaultLeft),
      cover: encode(this.cover),
      leafValues: encode(leafValuesOf(this)),
      valueWidth: w,
      treeOutput: this.treeOutput ? encode(this.treeOutput) : null,
    };
  }

  /**
   * The compact stored form (a forest's, format 2), each part written only when it gives back the same bits, else
   * as `toJSON` writes it: `right` derived from the pre-order layout too (a split's right child follows its left
   * subtree), features as one byte (feature + 1), thresholds as a byte indexing the feature's distinct thresholds
   * (bin edges: ≤ 255 each), defaultLeft at splits only, covers at leaves only when each split's is the sum of its
   * children's (bootstrap counts), as int32 when whole, and a forest's leaves as their class counts (`leafCounts`:
   * value = count / cover, cover = Σ counts) when those give back the values. A 100-tree forest at 35,000 rows:
   * 26.7 → 6.5 MB to gzip, 5.8 → 1.6 MB gzipped (pack, hand-off and store scale with these). Fresh memory is dear
   * here (~4 ms per MB of first-touched pages on the 2-core VM), so nothing is allocated that is not stored.
   */
  toCompactJSON(numFeatures: number): SerializedTrees {
    const { treeStart, feature, threshold, left, right, defaultLeft, cover, values, valueWidth: w } = this;
    const n = feature.length;
    let splits = 0;
    for (let v = 0; v < n; v++) if (feature[v] >= 0) splits++;
    const leaves = n - splits;
    // One pass over the nodes: each part's compact form, and whether it gives back these bits.
    const feature8 = new Uint8Array(n);
    let byteFeatures = numFeatures < 255;
    const thresholds = new ThresholdTable(numFeatures);
    const thresholdIndex = new Uint8Array(splits);
    let indexed = true;
    const splitDefaultLeft = new Uint8Array(splits);
    let leavesDefaultRight = true;
    const leafCover = new Int32Array(leaves);
    let summedCover = true;
    let intCover = true;
    let preorder = true;
    let sameRight = true;
    // Splits whose right child comes next once the current left subtree ends (preorderRight's walk).
    const open = new Int32Array(n);
    for (let t = 0, at = 0, leaf = 0; t < this.treeCount; t++) {
      const s = treeStart[t];
      let top = 0;
      for (let v = s; v < treeStart[t + 1]; v++) {
        const f = feature[v];
        if (v > s && feature[v - 1] < 0) {
          if (top === 0 || right[open[--top]] !== v - s) sameRight = false;
        }
        if (f >= 0) {
          open[top++] = v;
          if (left[v] !== v - s + 1) preorder = false;
          if (f >= 254) byteFeatures = false;
          feature8[v] = f + 1;
          const i = indexed ? thresholds.indexOf(f, threshold[v]) : -1;
          if (i < 0) indexed = false;
          else thresholdIndex[at] = i;
          splitDefaultLeft[at++] = defaultLeft[v];
          if (!Object.is(cover[s + left[v]] + cover[s + right[v]], cover[v])) summedCover = false;
        } else {
          if (f !== -1) byteFeatures = false;
          if (right[v] !== -1) sameRight = false;
          if (!Object.is(threshold[v], 0)) indexed = false;
          if (defaultLeft[v] !== 0) leavesDefaultRight = false;
          const c = cover[v];
          if (!(Number.isInteger(c) && c >= 0 && c <= 0x7fffffff && !Object.is(c, -0))) intCover = false;
          leafCover[leaf++] = c;
        }
      }
      if (top !== 0) sameRight = false;
    }
    if (!preorder) return this.toJSON();
    const counts = summedCover && intCover && this.treeOutput === null ? leafCountsOf(feature, values, cover, w) : null;
    const leafCoverParts = (): Partial<SerializedTrees> => {
      if (!summedCover) return { cover: encode(cover) };
      if (intCover) return { leafCoverInt: encode(leafCover) };
      const floats = new Float64Array(leaves);
      for (let v = 0, at = 0; v < n; v++) if (feature[v] < 0) floats[at++] = cover[v];
      return { leafCover: encode(floats) };
    };
    return {
      treeStart: encode(treeStart),
      ...(byteFeatures ? { feature8: encode(feature8) } : { feature: encode(feature) }),
      ...(indexed
        ? {
            thresholdStart: encode(thresholds.start()),
            thresholdTable: encode(thresholds.table()),
            thresholdIndex: encode(thresholdIndex),
          }
        : { threshold: encode(threshold) }),
      ...(sameRight ? {} : { right: encode(right) }),
      ...(leavesDefaultRight ? { splitDefaultLeft: encode(splitDefaultLeft) } : { defaultLeft: encode(defaultLeft) }),
      ...(counts ? { leafCounts: encode(counts) } : { ...leafCoverParts(), leafValues: encode(leafValuesOf(this)) }),
      valueWidth: w,
      treeOutput: this.treeOutput ? encode(this.treeOutput) : null,
    };
  }

  /**
   * Reads stored trees, checked: array lengths agree, tree offsets ascend, split features are < `numFeatures` and
   * children lie within their tree (tree-relative), tree outputs are < `numOutputs`. One pass over the nodes. On shared
   * memory, as `pack` (a loaded 200,000-row forest is not copied again for the prediction helper). Reads both stored
   * forms (`toJSON`'s, and `toCompactJSON`'s whose left-out parts are derived here).
   */
  static fromStored(stored: StoredFields, numFeatures: number, numOutputs: number): PackedTrees {
    const treeStart = new Int32Array(stored.sharedBytes('treeStart', 4));
    const treeCount = treeStart.length - 1;
    if (treeCount < 0 || treeStart[0] !== 0) stored.fail('treeStart');
    for (let t = 0; t < treeCount; t++) if (treeStart[t + 1] <= treeStart[t]) stored.fail('treeStart');
    const n = treeStart[treeCount];
    const valueWidth = stored.integer('valueWidth', 1);
    const feature = stored.has('feature8')
      ? featureOf(new Uint8Array(stored.bytes('feature8', 1, n)))
      : new Int32Array(stored.sharedBytes('feature', 4, n));
    const left = stored.has('left')
      ? new Int32Array(stored.sharedBytes('left', 4, n))
      : preorderLeft(feature, treeStart);
    const right = stored.has('right')
      ? new Int32Array(stored.sharedBytes('right', 4, n))
      : (preorderRight(feature, treeStart) ?? stored.fail('right'));
    for (let t = 0; t < treeCount; t++) {
      const size = treeStart[t + 1] - treeStart[t];
      for (let node = treeStart[t]; node < treeStart[t + 1]; node++) {
        if (feature[node] >= numFeatures) stored.fail('feature');
        if (feature[node] >= 0 && (left[node] < 0 || left[node] >= size)) stored.fail('left');
        if (feature[node] >= 0 && (right[node] < 0 || right[node] >= size)) stored.fail('right');
      }
    }
    let treeOutput: Int32Array | null = null;
    if (stored.has('treeOutput')) {
      treeOutput = new Int32Array(stored.sharedBytes('treeOutput', 4, treeCount));
      for (const output of treeOutput) if (output < 0 || output >= numOutputs) stored.fail('treeOutput');
    }
    const splits = n - countLeaves(feature);
    const fromCounts = stored.has('leafCounts')
      ? fromLeafCounts(
          feature,
          new Int32Array(stored.bytes('leafCounts', 4, (n - splits) * valueWidth)),
          valueWidth,
          () => stored.fail('leafCounts'),
        )
      : null;
    const leafCover = fromCounts
      ? fromCounts.leafCover
      : stored.has('leafCoverInt')
        ? new Int32Array(stored.bytes('leafCoverInt', 4, n - splits))
        : stored.has('leafCover')
          ? new Float64Array(stored.bytes('leafCover', 8, n - splits))
          : null;
    return new PackedTrees(
      treeStart,
      feature,
      stored.has('thresholdIndex')
        ? thresholdsAt(
            feature,
            new Int32Array(stored.bytes('thresholdStart', 4, numFeatures + 1)),
            new Float64Array(stored.bytes('thresholdTable', 8)),
            new Uint8Array(stored.bytes('thresholdIndex', 1, splits)),
            () => stored.fail('thresholdIndex'),
          )
        : new Float64Array(stored.sharedBytes('threshold', 8, n)),
      left,
      right,
      stored.has('splitDefaultLeft')
        ? atSplits(feature, new Uint8Array(stored.bytes('splitDefaultLeft', 1, splits)))
        : new Uint8Array(stored.sharedBytes('defaultLeft', 1, n)),
      leafCover
        ? summedCovers(feature, treeStart, left, right, leafCover)
        : new Float64Array(stored.sharedBytes('cover', 8, n)),
      fromCounts
        ? fromCounts.values
        : stored.has('leafValues')
          ? leafValuesAt(feature, new Float64Array(stored.bytes('leafValues', 8)), valueWidth, () =>
              stored.fail('leafValues'),
            )
          : new Float64Array(stored.sharedBytes('values', 8, n * valueWidth)),
      valueWidth,
      treeOutput,
    );
  }
}

/**
 * Typed arrays as their little-endian bytes (base64 in JSON, raw in a binary artefact): compact and bit-exact.
 * Stored before: `left` always, and `values` of every node instead of `leafValues`; both still load.
 */
export interface SerializedTrees {
  treeStart: StoredBytes;
  /** Or `feature8` (toCompactJSON): feature + 1 as a byte. */
  feature?: StoredBytes;
  feature8?: StoredBytes;
  /** Or (toCompactJSON) each split's index into its feature's distinct thresholds. */
  threshold?: StoredBytes;
  thresholdStart?: StoredBytes;
  thresholdTable?: StoredBytes;
  thresholdIndex?: StoredBytes;
  /** Absent when every split's left child is the node after it. */
  left?: StoredBytes;
  /** Absent (toCompactJSON) when every split's right child is the node after its left subtree. */
  right?: StoredBytes;
  /** Or `splitDefaultLeft`, splits only (toCompactJSON). */
  defaultLeft?: StoredBytes;
  /** Or the leaves' only (toCompactJSON): `leafCoverInt` when whole, else `leafCover`; or summed from leafCounts. */
  cover?: StoredBytes;
  leafCover?: StoredBytes;
  leafCoverInt?: StoredBytes;
  /** Or (toCompactJSON, a forest) `leafCounts`: each leaf's class counts, value = count / Σ counts. */
  leafValues?: StoredBytes;
  leafCounts?: StoredBytes;
  valueWidth: number;
  treeOutput: StoredBytes | null;
}

/**
 * Each split's right child as the pre-order layout places it: the node after its left subtree (tree-relative); -1 at
 * leaves. Null when `feature` is not a sequence of whole pre-order trees (a malformed or differently laid out one).
 */
function preorderRight(feature: Int32Array, treeStart: Int32Array): Int32Array | null {
  const right = sharedInts(feature.length);
  // Splits whose right child comes next once the current left subtree ends.
  const open = new Int32Array(feature.length);
  for (let t = 0; t + 1 < treeStart.length; t++) {
    const s = treeStart[t];
    let top = 0;
    for (let v = s; v < treeStart[t + 1]; v++) {
      if (v > s && feature[v - 1] < 0) {
        if (top === 0) return null;
        right[open[--top]] = v - s;
      }
      if (feature[v] >= 0) open[top++] = v;
      else right[v] = -1;
    }
    if (top !== 0) return null;
  }
  return right;
}

function countLeaves(feature: Int32Array): number {
  let leaves = 0;
  for (const f of feature) if (f < 0) leaves++;
  return leaves;
}

/** Features from their stored bytes (feature + 1; 0 at leaves). */
function featureOf(feature8: Uint8Array): Int32Array {
  const feature = sharedInts(feature8.length);
  for (let v = 0; v < feature8.length; v++) feature[v] = feature8[v] - 1;
  return feature;
}

/** The leaves' values in node order (valueWidth each). */
function leafValuesOf(trees: PackedTrees): Float64Array {
  const { feature, values, valueWidth: w } = trees;
  const leafValues = new Float64Array(countLeaves(feature) * w);
  for (let v = 0, at = 0; v < feature.length; v++)
    if (feature[v] < 0) for (let k = 0; k < w; k++) leafValues[at++] = values[v * w + k];
  return leafValues;
}

/**
 * A forest's leaves as whole class counts (w per leaf, node order): count / cover gives back each value and the
 * counts sum to the cover, bit for bit (grow.ts divides the bootstrap-weighted counts by their sum); else null.
 */
function leafCountsOf(feature: Int32Array, values: Float64Array, cover: Float64Array, w: number): Int32Array | null {
  const counts = new Int32Array(countLeaves(feature) * w);
  for (let v = 0, at = 0; v < feature.length; v++) {
    if (feature[v] >= 0) continue;
    const c = cover[v];
    let sum = 0;
    for (let k = 0; k < w; k++) {
      const x = values[v * w + k];
      const count = Math.round(x * c);
      // === with the bits of a zero checked apart (count / c is never -0): faster than Object.is here.
      if (!(count >= 0 && count <= 0x7fffffff && count / c === x) || (x === 0 && 1 / x < 0)) return null;
      counts[at++] = count;
      sum += count;
    }
    if (sum !== c || (c === 0 && 1 / c < 0)) return null;
  }
  return counts;
}

/** Each leaf's cover (Σ of its counts) and every node's values (shared memory; zeros at splits) from leafCounts. */
function fromLeafCounts(
  feature: Int32Array,
  counts: Int32Array,
  w: number,
  fail: () => never,
): { leafCover: Float64Array; values: Float64Array } {
  const leaves = counts.length / w;
  if (!Number.isInteger(leaves)) fail();
  const leafCover = new Float64Array(leaves);
  const values = sharedFloats(feature.length * w);
  for (let v = 0, at = 0; v < feature.length; v++) {
    if (feature[v] >= 0) continue;
    if (at >= leaves) fail();
    let sum = 0;
    for (let k = 0; k < w; k++) sum += counts[at * w + k];
    leafCover[at] = sum;
    for (let k = 0; k < w; k++) values[v * w + k] = counts[at * w + k] / sum;
    at++;
  }
  return { leafCover, values };
}

/** Slots per feature in ThresholdTable's hash: 4 × its 256 thresholds at most. */
const THRESHOLD_SLOTS = 1024;

/**
 * Each feature's distinct split thresholds in order of first use, at most 256 (bin edges are ≤ 255): an open-addressing
 * hash on the value's bits (a Map per feature took ~30 ms for a 400,000-split forest).
 */
class ThresholdTable {
  private readonly keys: Float64Array;
  /** Per slot: index + 1 of the threshold there, 0 when empty. */
  private readonly slots: Int16Array;
  private readonly counts: Int32Array;
  private readonly values: Float64Array;
  private readonly bits = new Uint32Array(2);
  private readonly bitsAsFloat = new Float64Array(this.bits.buffer);

  constructor(private readonly numFeatures: number) {
    this.keys = new Float64Array(numFeatures * THRESHOLD_SLOTS);
    this.slots = new Int16Array(numFeatures * THRESHOLD_SLOTS);
    this.counts = new Int32Array(numFeatures);
    this.values = new Float64Array(numFeatures * 256);
  }

  /** x's index among feature f's thresholds (added if new); -1 past 256, or for -0 or NaN (=== would merge them). */
  indexOf(f: number, x: number): number {
    if (f >= this.numFeatures || x !== x || Object.is(x, -0)) return -1;
    this.bitsAsFloat[0] = x;
    const base = f * THRESHOLD_SLOTS;
    let slot = Math.imul(this.bits[0] ^ this.bits[1], 0x9e3779b1) >>> 22;
    for (;;) {
      const at = this.slots[base + slot];
      if (at === 0) break;
      if (this.keys[base + slot] === x) return at - 1;
      slot = (slot + 1) & (THRESHOLD_SLOTS - 1);
    }
    const i = this.counts[f];
    if (i === 256) return -1;
    this.counts[f] = i + 1;
    this.keys[base + slot] = x;
    this.slots[base + slot] = i + 1;
    this.values[f * 256 + i] = x;
    return i;
  }

  /** Where each feature's thresholds begin in `table` (numFeatures + 1 offsets). */
  start(): Int32Array {
    const start = new Int32Array(this.numFeatures + 1);
    for (let f = 0; f < this.numFeatures; f++) start[f + 1] = start[f] + this.counts[f];
    return start;
  }

  /** Every feature's thresholds, concatenated. */
  table(): Float64Array {
    const start = this.start();
    const table = new Float64Array(start[this.numFeatures]);
    for (let f = 0; f < this.numFeatures; f++)
      table.set(this.values.subarray(f * 256, f * 256 + this.counts[f]), start[f]);
    return table;
  }
}

/** Every node's threshold (shared memory) from the splits' indices into their feature's table; +0 at leaves. */
function thresholdsAt(
  feature: Int32Array,
  start: Int32Array,
  table: Float64Array,
  index: Uint8Array,
  fail: () => never,
): Float64Array {
  const threshold = sharedFloats(feature.length);
  for (let f = 0; f + 1 < start.length; f++) if (start[f] < 0 || start[f + 1] < start[f]) fail();
  if (start[start.length - 1] !== table.length) fail();
  for (let v = 0, at = 0; v < feature.length; v++) {
    const f = feature[v];
    if (f < 0) continue;
    if (f + 1 >= start.length) fail();
    const i = start[f] + index[at++];
    if (i >= start[f + 1]) fail();
    threshold[v] = table[i];
  }
  return threshold;
}

/** A per-node byte array (shared memory) from the splits' values in node order; 0 at leaves. */
function atSplits(feature: Int32Array, splitValues: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(feature.length));
  for (let v = 0, at = 0; v < feature.length; v++) if (feature[v] >= 0) out[v] = splitValues[at++];
  return out;
}

/**
 * Every node's cover (shared memory) from the leaves' in node order: a split's is its children's sum, added from
 * the last node back (children follow their parent), as toCompactJSON checked it gives the stored bits.
 */
function summedCovers(
  feature: Int32Array,
  treeStart: Int32Array,
  left: Int32Array,
  right: Int32Array,
  leafCover: Int32Array | Float64Array,
): Float64Array {
  const cover = sharedFloats(feature.length);
  for (let v = 0, at = 0; v < feature.length; v++) if (feature[v] < 0) cover[v] = leafCover[at++];
  for (let t = treeStart.length - 2; t >= 0; t--) {
    const s = treeStart[t];
    for (let v = treeStart[t + 1] - 1; v >= s; v--)
      if (feature[v] >= 0) cover[v] = cover[s + left[v]] + cover[s + right[v]];
  }
  return cover;
}

/** Each split's left child as the pre-order layout places it: the next node (tree-relative); -1 at leaves. */
function preorderLeft(feature: Int32Array, treeStart: Int32Array): Int32Array {
  const left = sharedInts(feature.length);
  for (let t = 0; t + 1 < treeStart.length; t++)
    for (let v = treeStart[t]; v < treeStart[t + 1]; v++) left[v] = feature[v] >= 0 ? v - treeStart[t] + 1 : -1;
  return left;
}

/** Every node's values (shared memory) from the leaves' in node order; split nodes hold zeros, as when grown. */
function leafValuesAt(feature: Int32Array, leafValues: Float64Array, w: number, fail: () => never): Float64Array {
  const values = sharedFloats(feature.length * w);
  let at = 0;
  for (let v = 0; v < feature.length; v++) {
    if (feature[v] >= 0) continue;
    if (at + w > leafValues.length) fail();
    for (let k = 0; k < w; k++) values[v * w + k] = leafValues[at++];
  }
  if (at !== leafValues.length) fail();
  return values;
}

function encode(a: Int32Array | Float64Array | Uint8Array): StoredBytes {
  return new StoredBytes(a);
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
