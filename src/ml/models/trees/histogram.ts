/**
 * Gradient histograms of XGBoost's grower (grow-gradient.ts), run by the growing thread and its helper thread
 * (grow-jobs.ts, grow-helper.ts): the loop that adds rows' (gradient, hessian) into histogram slots.
 */

/** Histogram slot of every (row, feature), row-major; Uint16 while the slots fit. */
export type SlotMatrix = Uint16Array | Uint32Array;

/**
 * Adds (g, h) of rows idx[start, end) into `hist` (interleaved: g at 2·slot, h at 2·slot + 1) for the first
 * `nf` entries of `features` (all `cols` features when nf = cols), row by row so each row's gradients are read once.
 * Four rows at a time, feature by feature: four independent read-add-writes in flight instead of one (~35 % faster
 * on 140,000 rows × 20 features). Every slot still receives its rows in index order (a feature's slots are its
 * own), so the sums are bit for bit those of one row at a time.
 */
export function buildHistogram(
  hist: Float64Array,
  idx: Uint32Array,
  start: number,
  end: number,
  gh: Float64Array,
  slots: SlotMatrix,
  cols: number,
  features: Int32Array,
  nf: number,
): void {
  // Two copies of the loop: indexing through `features` when all are used costs ~20 %.
  if (nf === cols) {
    let i = start;
    for (; i + 3 < end; i += 4) {
      const r0 = idx[i];
      const r1 = idx[i + 1];
      const r2 = idx[i + 2];
      const r3 = idx[i + 3];
      const g0 = gh[2 * r0];
      const h0 = gh[2 * r0 + 1];
      const g1 = gh[2 * r1];
      const h1 = gh[2 * r1 + 1];
      const g2 = gh[2 * r2];
      const h2 = gh[2 * r2 + 1];
      const g3 = gh[2 * r3];
      const h3 = gh[2 * r3 + 1];
      const b0 = r0 * cols;
      const b1 = r1 * cols;
      const b2 = r2 * cols;
      const b3 = r3 * cols;
      for (let f = 0; f < cols; f++) {
        const o0 = slots[b0 + f] << 1;
        hist[o0] += g0;
        hist[o0 + 1] += h0;
        const o1 = slots[b1 + f] << 1;
        hist[o1] += g1;
        hist[o1 + 1] += h1;
        const o2 = slots[b2 + f] << 1;
        hist[o2] += g2;
        hist[o2 + 1] += h2;
        const o3 = slots[b3 + f] << 1;
        hist[o3] += g3;
        hist[o3 + 1] += h3;
      }
    }
    for (; i < end; i++) {
      const r = idx[i];
      const g = gh[2 * r];
      const h = gh[2 * r + 1];
      const base = r * cols;
      for (let f = 0; f < cols; f++) {
        const o = slots[base + f] << 1;
        hist[o] += g;
        hist[o + 1] += h;
      }
    }
    return;
  }
  let i = start;
  for (; i + 3 < end; i += 4) {
    const r0 = idx[i];
    const r1 = idx[i + 1];
    const r2 = idx[i + 2];
    const r3 = idx[i + 3];
    const g0 = gh[2 * r0];
    const h0 = gh[2 * r0 + 1];
    const g1 = gh[2 * r1];
    const h1 = gh[2 * r1 + 1];
    const g2 = gh[2 * r2];
    const h2 = gh[2 * r2 + 1];
    const g3 = gh[2 * r3];
    const h3 = gh[2 * r3 + 1];
    const b0 = r0 * cols;
    const b1 = r1 * cols;
    const b2 = r2 * cols;
    const b3 = r3 * cols;
    for (let j = 0; j < nf; j++) {
      const f = features[j];
      const o0 = slots[b0 + f] << 1;
      hist[o0] += g0;
      hist[o0 + 1] += h0;
      const o1 = slots[b1 + f] << 1;
      hist[o1] += g1;
      hist[o1 + 1] += h1;
      const o2 = slots[b2 + f] << 1;
      hist[o2] += g2;
      hist[o2 + 1] += h2;
      const o3 = slots[b3 + f] << 1;
      hist[o3] += g3;
      hist[o3 + 1] += h3;
    }
  }
  for (; i < end; i++) {
    const r = idx[i];
    const g = gh[2 * r];
    const h = gh[2 * r + 1];
    const base = r * cols;
    for (let j = 0; j < nf; j++) {
      const o = slots[base + features[j]] << 1;
      hist[o] += g;
      hist[o + 1] += h;
    }
  }
}
