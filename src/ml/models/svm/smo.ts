/** libsvm's SMO solver for one binary C-SVC sub-problem (WSS2 working-set selection, no shrinking). */
import { throwIfAborted } from '../../types.js';
import type { KernelColumns } from './kernels.js';

const STOPPING_TOLERANCE = 1e-3;

export interface BinarySolution {
  /** α per row of the sub-problem. */
  alpha: Float64Array;
  rho: number;
  iterations: number;
}

export class Yielder {
  private last = performance.now();
  constructor(private readonly signal: AbortSignal | undefined) {}
  /** Lets timers and worker messages run (so an abort can arrive) about every 50 ms, then checks the signal. */
  async maybeYield(): Promise<void> {
    if (performance.now() - this.last > 50) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.last = performance.now();
    }
    throwIfAborted(this.signal);
  }
}

/**
 * Solves min ½αᵀQα − eᵀα, 0 ≤ α ≤ C, yᵀα = 0 with Q_ij = y_i y_j K_ij on the rows `map` (indices into `kernel`).
 */
export async function solveBinary(
  kernel: KernelColumns,
  map: Int32Array,
  y: Int8Array,
  C: number,
  maxIter: number,
  yielder: Yielder,
): Promise<BinarySolution> {
  const l = map.length;
  const alpha = new Float64Array(l);
  const G = new Float64Array(l).fill(-1);
  const diag = kernel.diagonal;
  const TAU = 1e-12;
  let iterations = 0;
  while (iterations < maxIter) {
    if ((iterations & 255) === 0) await yielder.maybeYield();
    // Working set: i maximises −y_i∇f among the indices that may move up; j by the second-order gain.
    let gMax = -Infinity;
    let i = -1;
    for (let t = 0; t < l; t++) {
      if (y[t] === 1) {
        if (alpha[t] < C && -G[t] >= gMax) {
          gMax = -G[t];
          i = t;
        }
      } else if (alpha[t] > 0 && G[t] >= gMax) {
        gMax = G[t];
        i = t;
      }
    }
    if (i < 0) break;
    const pi = map[i];
    const Ki = kernel.get(pi);
    const diagI = diag[pi];
    let gMax2 = -Infinity;
    let j = -1;
    let objectiveMin = Infinity;
    for (let t = 0; t < l; t++) {
      let gradientDiff: number;
      if (y[t] === 1) {
        if (!(alpha[t] > 0)) continue;
        if (G[t] >= gMax2) gMax2 = G[t];
        gradientDiff = gMax + G[t];
      } else {
        if (!(alpha[t] < C)) continue;
        if (-G[t] >= gMax2) gMax2 = -G[t];
        gradientDiff = gMax - G[t];
      }
      if (gradientDiff > 0) {
        const pt = map[t];
        let quad = diagI + diag[pt] - 2 * Ki[pt];
        if (quad <= 0) quad = TAU;
        const objective = -(gradientDiff * gradientDiff) / quad;
        if (objective <= objectiveMin) {
          objectiveMin = objective;
          j = t;
        }
      }
    }
    if (gMax + gMax2 < STOPPING_TOLERANCE || j < 0) break;
    iterations++;

    const pj = map[j];
    const Kj = kernel.get(pj);
    const Ki2 = kernel.get(pi); // may have been evicted by the fetch of column j when the cache is tiny
    const yi = y[i];
    const yj = y[j];
    const Qij = yi * yj * Ki2[pj];
    const oldI = alpha[i];
    const oldJ = alpha[j];
    let ai = oldI;
    let aj = oldJ;
    if (yi !== yj) {
      let quad = diagI + diag[pj] + 2 * Qij;
      if (quad <= 0) quad = TAU;
      const delta = (-G[i] - G[j]) / quad;
      const diff = ai - aj;
      ai += delta;
      aj += delta;
      if (diff > 0) {
        if (aj < 0) {
          aj = 0;
          ai = diff;
        }
      } else if (ai < 0) {
        ai = 0;
        aj = -diff;
      }
      if (diff > 0) {
        if (ai > C) {
          ai = C;
          aj = C - diff;
        }
      } else if (aj > C) {
        aj = C;
        ai = C + diff;
      }
    } else {
      let quad = diagI + diag[pj] - 2 * Qij;
      if (quad <= 0) quad = TAU;
      const delta = (G[i] - G[j]) / quad;
      const sum = ai + aj;
      ai -= delta;
      aj += delta;
      if (sum > C) {
        if (ai > C) {
          ai = C;
          aj = sum - C;
        }
      } else if (aj < 0) {
        aj = 0;
        ai = sum;
      }
      if (sum > C) {
        if (aj > C) {
          aj = C;
          ai = sum - C;
        }
      } else if (ai < 0) {
        ai = 0;
        aj = sum;
      }
    }
    alpha[i] = ai;
    alpha[j] = aj;
    const di = yi * (ai - oldI);
    const dj = yj * (aj - oldJ);
    for (let t = 0; t < l; t++) {
      const pt = map[t];
      G[t] += y[t] * (di * Ki2[pt] + dj * Kj[pt]);
    }
  }

  // ρ: mean of y∇f over free vectors, else the middle of the feasible interval (libsvm's calculate_rho).
  let upper = Infinity;
  let lower = -Infinity;
  let freeCount = 0;
  let freeSum = 0;
  for (let t = 0; t < l; t++) {
    const yG = y[t] * G[t];
    if (alpha[t] >= C) {
      if (y[t] === -1) upper = Math.min(upper, yG);
      else lower = Math.max(lower, yG);
    } else if (alpha[t] <= 0) {
      if (y[t] === 1) upper = Math.min(upper, yG);
      else lower = Math.max(lower, yG);
    } else {
      freeCount++;
      freeSum += yG;
    }
  }
  const rho = freeCount > 0 ? freeSum / freeCount : (upper + lower) / 2;
  return { alpha, rho: Number.isFinite(rho) ? rho : 0, iterations };
}
