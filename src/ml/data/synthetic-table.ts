/**
 * A seeded synthetic table: 20 numeric features, two overlapping classes (a few informative features, linear and
 * not, the rest noise), 0.5 % of cells missing. bench:scale and bench:post-fit measure on it (bench/synthetic.ts
 * writes it to a file); a training thread's JIT warm-up (src/ml/warm-up.ts) trains on a small one.
 */

export const SYNTHETIC_FEATURES = 20;

/** mulberry32: a small seeded generator, so every run sees the same table. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The `rows`-row table (seeded by its size) as CSV text, header first, in pieces of about `pieceChars` characters. */
export function* syntheticCsv(rows: number, pieceChars = 1 << 20): Generator<string> {
  const random = seeded(rows);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  yield `${[...Array.from({ length: SYNTHETIC_FEATURES }, (_, j) => `f${j + 1}`), 'label'].join(',')}\n`;
  let piece = '';
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: SYNTHETIC_FEATURES }, gaussian);
    const score = 1.2 * x[0] - 0.8 * x[1] + 0.6 * x[2] * x[3] + 0.5 * Math.sin(2 * x[4]) + 0.9 * gaussian();
    const cells = x.map((v) => (random() < 0.005 ? '' : v.toFixed(5)));
    piece += `${cells.join(',')},${score > 0 ? 'planet' : 'false_positive'}\n`;
    if (piece.length > pieceChars) {
      yield piece;
      piece = '';
    }
  }
  yield piece;
}
