/**
 * The MLP's matrix product as a WebAssembly SIMD (f64x2) kernel, assembled here byte by byte (no toolchain, so the
 * repository builds offline from this source) and run on Float64Array views of one WebAssembly memory (`Arena`), so
 * the engine's weights and batch buffers are the kernel's operands without copies.
 *
 * C (m × n) = A (m × k) · B (k × n): B and C row-major, A read through strides (aRow between its rows, aCol between
 * its columns), so Aᵀ costs no transpose. Each output is summed over t = 0 … k−1 in order from 0, as the scalar loop
 * `s = 0; s += a·b` (WebAssembly has no fused multiply-add here), so results are bit-identical to it; the vectors run
 * across n (two neighbouring outputs per f64x2), blocks of ROWS × 2·VECTORS outputs sharing their loads.
 */

/** Rows of A per register block (each row's value is broadcast once per t). */
const ROWS = 2;
/** f64x2 vectors of B per register block: ROWS × VECTORS accumulators + VECTORS loads + 1 broadcast ≤ 16 registers. */
const VECTORS = 4;

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function unsigned(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function signed(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

const vector = (items: number[][]): number[] => [...unsigned(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...unsigned(body.length), ...body];
const name = (text: string): number[] => vector(Array.from(new TextEncoder().encode(text), (byte) => [byte]));

// Instructions.
const get = (local: number) => [0x20, ...unsigned(local)];
const set = (local: number) => [0x21, ...unsigned(local)];
const i32 = (value: number) => [0x41, ...signed(value)];
const ADD = [0x6a];
const MUL = [0x6c];
const GT_U = [0x4b];
const LT_U = [0x49];
const EQZ = [0x45];
const simd = (op: number) => [0xfd, ...unsigned(op)];
const memarg = (align: number, offset: number) => [...unsigned(align), ...unsigned(offset)];
const f64Load = (offset = 0) => [0x2b, ...memarg(3, offset)];
const f64Store = (offset = 0) => [0x39, ...memarg(3, offset)];
const v128Load = (offset = 0) => [...simd(0), ...memarg(3, offset)];
const v128Store = (offset = 0) => [...simd(11), ...memarg(3, offset)];
const V128_ZERO = [...simd(12), ...new Array<number>(16).fill(0)];
const F64_ZERO = [0x44, ...new Array<number>(8).fill(0)];
const SPLAT = simd(20);
const F64X2_ADD = simd(240);
const F64X2_MUL = simd(242);
const F64_ADD = [0xa0];
const F64_MUL = [0xa2];
/** `while (!exit) body`: exit is evaluated first on each pass and leaves the loop when true. */
const whileNot = (exit: number[], body: number[]) => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...exit,
  0x0d,
  1,
  ...body,
  0x0c,
  0,
  0x0b,
  0x0b,
];
const increment = (local: number, by: number[]) => [...get(local), ...by, ...ADD, ...set(local)];

// Locals: the parameters, then the loop state, then the accumulators.
const [C, A, B, M, K, N, A_ROW, A_COL] = [0, 1, 2, 3, 4, 5, 6, 7];
const [I, J, T, PB, NB, AT] = [8, 9, 10, 11, 12, 13];
const PA = 14; // ROWS locals: A's pointer in each row of the block
const ACC = PA + ROWS; // ROWS × VECTORS v128
const BV = ACC + ROWS * VECTORS; // VECTORS v128
const S = BV + VECTORS; // v128 broadcast
const FACC = S + 1; // ROWS f64
const LOCALS: [number, number][] = [
  [6 + ROWS, I32],
  [ROWS * VECTORS + VECTORS + 1, V128],
  [ROWS, F64],
];

/** The ROWS-or-fewer × 2·vectors (or × 1 when vectors is 0) block at (I, J): sums over t, then stores. */
function block(rows: number, vectors: number): number[] {
  const code: number[] = [];
  const scalar = vectors === 0;
  for (let r = 0; r < rows; r++) {
    if (scalar) code.push(...F64_ZERO, ...set(FACC + r));
    else for (let v = 0; v < vectors; v++) code.push(...V128_ZERO, ...set(ACC + r * VECTORS + v));
    // PA[r] = A + (I + r) · aRow
    code.push(...get(A), ...get(I), ...i32(r), ...ADD, ...get(A_ROW), ...MUL, ...ADD, ...set(PA + r));
  }
  code.push(...get(B), ...get(J), ...i32(3), 0x74, ...ADD, ...set(PB)); // PB = B + 8·J
  code.push(...get(K), ...set(T));
  const step: number[] = [];
  if (!scalar) for (let v = 0; v < vectors; v++) step.push(...get(PB), ...v128Load(16 * v), ...set(BV + v));
  for (let r = 0; r < rows; r++) {
    if (scalar) {
      step.push(...get(FACC + r), ...get(PA + r), ...f64Load(), ...get(PB), ...f64Load(), ...F64_MUL, ...F64_ADD);
      step.push(...set(FACC + r));
    } else {
      step.push(...get(PA + r), ...f64Load(), ...SPLAT, ...set(S));
      for (let v = 0; v < vectors; v++) {
        const acc = ACC + r * VECTORS + v;
        step.push(...get(acc), ...get(S), ...get(BV + v), ...F64X2_MUL, ...F64X2_ADD, ...set(acc));
      }
    }
    step.push(...increment(PA + r, get(A_COL)));
  }
  step.push(...increment(PB, get(NB)), ...get(T), ...i32(-1), ...ADD, ...set(T));
  code.push(...whileNot([...get(T), ...EQZ], step));
  for (let r = 0; r < rows; r++) {
    // AT = C + 8 · ((I + r) · N + J)
    code.push(...get(C), ...get(I), ...i32(r), ...ADD, ...get(N), ...MUL, ...get(J), ...ADD, ...i32(3), 0x74, ...ADD);
    code.push(...set(AT));
    if (scalar) code.push(...get(AT), ...get(FACC + r), ...f64Store());
    else for (let v = 0; v < vectors; v++) code.push(...get(AT), ...get(ACC + r * VECTORS + v), ...v128Store(16 * v));
  }
  return code;
}

/** Every column of the rows I … I + rows − 1: blocks of VECTORS vectors, then single vectors, then one scalar. */
function rowBlock(rows: number): number[] {
  const columnsLeft = (width: number) => [...get(J), ...i32(width), ...ADD, ...get(N), ...GT_U];
  return [
    ...i32(0),
    ...set(J),
    ...whileNot(columnsLeft(2 * VECTORS), [...block(rows, VECTORS), ...increment(J, i32(2 * VECTORS))]),
    ...whileNot(columnsLeft(2), [...block(rows, 1), ...increment(J, i32(2))]),
    ...get(J),
    ...get(N),
    ...LT_U,
    0x04,
    0x40,
    ...block(rows, 0),
    0x0b,
  ];
}

function gemmModule(): Uint8Array<ArrayBuffer> {
  const body = [
    ...get(N),
    ...i32(3),
    0x74,
    ...set(NB),
    ...i32(0),
    ...set(I),
    ...whileNot([...get(I), ...i32(ROWS), ...ADD, ...get(M), ...GT_U], [...rowBlock(ROWS), ...increment(I, i32(ROWS))]),
    ...whileNot([...get(I), ...get(M), ...LT_U, ...EQZ], [...rowBlock(1), ...increment(I, i32(1))]),
    0x0b,
  ];
  const code = [...vector(LOCALS.map(([count, type]) => [...unsigned(count), type])), ...body];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, ...vector(new Array<number[]>(8).fill([I32])), ...vector([])]])),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, ...unsigned(1)]])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name('gemm'), 0x00, 0]])),
    ...section(10, vector([[...unsigned(code.length), ...code]])),
  ]);
}

let compiled: WebAssembly.Module | null = null;

type GemmExport = (
  c: number,
  a: number,
  b: number,
  m: number,
  k: number,
  n: number,
  aRow: number,
  aCol: number,
) => void;

/**
 * Float64Array buffers carved from one WebAssembly memory, sized once (growing the memory would detach the views),
 * and the product on them.
 */
export class Arena {
  private readonly memory: WebAssembly.Memory;
  private readonly gemmExport: GemmExport;
  private next = 0;

  /** Room for `doubles` values over `buffers` buffers (each starts 16-byte aligned). */
  constructor(doubles: number, buffers: number) {
    const bytes = 8 * doubles + 16 * buffers;
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    compiled ??= new WebAssembly.Module(gemmModule());
    const instance = new WebAssembly.Instance(compiled, { env: { memory: this.memory } });
    const gemm = instance.exports.gemm;
    if (typeof gemm !== 'function') throw new Error('the gemm kernel did not export its function');
    this.gemmExport = gemm as GemmExport;
  }

  /** A zeroed buffer of `length` values (`values` copied in when given). */
  take(length: number, values?: Float64Array): Float64Array {
    const view = new Float64Array(this.memory.buffer, this.next, length);
    this.next += Math.ceil((8 * length) / 16) * 16;
    if (values) view.set(values);
    return view;
  }

  /**
   * C (m × n, row-major) = A · B, B (k × n) row-major; A's element (i, t) at a[i · aRow + t · aCol]. All three are
   * buffers of this arena.
   */
  gemm(
    c: Float64Array,
    a: Float64Array,
    b: Float64Array,
    m: number,
    k: number,
    n: number,
    aRow: number,
    aCol: number,
  ): void {
    this.gemmExport(c.byteOffset, a.byteOffset, b.byteOffset, m, k, n, 8 * aRow, 8 * aCol);
  }
}
