/**
 * Reading a stored model's own fields back (the artefact's outer fields are checked by artifact.ts): every field a
 * loader reads is checked here, never cast, so a malformed model fails naming the field instead of loading
 * half-broken. Like a malformed artefact it is a server fault: a plain Error, masked at the edge and logged.
 * Arrays are checked in the same pass that copies them into typed arrays, so big forests load no slower.
 */
import type { HistoryPoint, SerializedModel } from '../types.js';

type Json = Record<string, unknown>;

/**
 * A typed array's little-endian bytes in a serialised model. Plain JSON writes them as base64 (the format every
 * stored artefact had before), while the binary artefact (src/ml/artifact.ts `encodeArtifact`) stores the bytes
 * themselves: no base64 to encode, compress or decode.
 */
export class StoredBytes {
  readonly bytes: Uint8Array;

  constructor(array: Int32Array | Float64Array | Uint8Array) {
    this.bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  }

  toJSON(): unknown {
    return bytesSink
      ? bytesSink(this.bytes)
      : Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('base64');
  }
}

/** While `encodeArtifact` stringifies (synchronously), where StoredBytes put their bytes instead of base64. */
let bytesSink: ((bytes: Uint8Array) => unknown) | null = null;

/** JSON.stringify of `value` with every StoredBytes handed to `sink` (its result written in place). */
export function stringifyWithBytes(value: unknown, sink: (bytes: Uint8Array) => unknown): string {
  bytesSink = sink;
  try {
    return JSON.stringify(value);
  } finally {
    bytesSink = null;
  }
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class StoredFields {
  private constructor(
    private readonly modelType: string,
    private readonly value: Json,
    private readonly path: string,
  ) {}

  /** The model's fields, after checking it is stored in a format its loader reads (one, or any of a list). */
  static of(json: SerializedModel, formatVersion: number | readonly number[]): StoredFields {
    const fields = new StoredFields(json.modelType, json, 'model.');
    const readable = typeof formatVersion === 'number' ? [formatVersion] : formatVersion;
    if (!readable.includes(json.formatVersion)) fields.fail('formatVersion');
    return fields;
  }

  fail(key: string): never {
    throw new Error(`The stored ${this.modelType} model is malformed (${this.path}${key}).`);
  }

  /** Whether an optional field is there (neither absent nor null). */
  has(key: string): boolean {
    const v = this.value[key];
    return v !== undefined && v !== null;
  }

  /** An object handed as is to a library that checks it itself (TensorFlow.js topology). */
  object(key: string): Record<string, unknown> {
    const v = this.value[key];
    return isRecord(v) ? v : this.fail(key);
  }

  number(key: string): number {
    const v = this.value[key];
    return typeof v === 'number' ? v : this.fail(key);
  }

  /** An integer in [min, max]. */
  integer(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : this.fail(key);
  }

  boolean(key: string): boolean {
    const v = this.value[key];
    return typeof v === 'boolean' ? v : this.fail(key);
  }

  string(key: string): string {
    const v = this.value[key];
    return typeof v === 'string' ? v : this.fail(key);
  }

  oneOf<T extends string>(key: string, words: readonly T[]): T {
    const v = this.value[key];
    return words.find((word) => word === v) ?? this.fail(key);
  }

  private list(key: string, length: number | undefined): unknown[] {
    const v = this.value[key];
    if (!Array.isArray(v) || (length !== undefined && v.length !== length)) this.fail(key);
    return v;
  }

  /** A list of numbers (of `length` when given). */
  numbers(key: string, length?: number): Float64Array {
    const list = this.list(key, length);
    const out = new Float64Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (typeof v !== 'number') this.fail(key);
      out[i] = v;
    }
    return out;
  }

  /** A list of integers in [min, max] (of `length` when given). */
  integers(key: string, min: number, max: number, length?: number): Int32Array {
    const list = this.list(key, length);
    const out = new Int32Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(key);
      out[i] = v;
    }
    return out;
  }

  record(key: string): StoredFields {
    const v = this.value[key];
    return isRecord(v) ? new StoredFields(this.modelType, v, `${this.path}${key}.`) : this.fail(key);
  }

  records(key: string): StoredFields[] {
    return this.list(key, undefined).map((v, i) =>
      isRecord(v)
        ? new StoredFields(this.modelType, v, `${this.path}${key}[${String(i)}].`)
        : this.fail(`${key}[${String(i)}]`),
    );
  }

  /**
   * A typed array's little-endian bytes (base64 in JSON, StoredBytes in a binary artefact), `elements` long when given (a whole number of `bytesPerElement`
   * otherwise), copied into a fresh, aligned buffer.
   */
  bytes(key: string, bytesPerElement: number, elements?: number): ArrayBuffer {
    const decoded = this.checkedBytes(key, bytesPerElement, elements);
    const copy = new Uint8Array(decoded.length);
    copy.set(decoded);
    return copy.buffer;
  }

  /**
   * `bytes` on shared memory (tree nodes: predict-parallel's helper thread reads them without a copy): a binary
   * artefact's block as it is (decodeArtifactBytes puts each in a SharedArrayBuffer of its own; read-only), else a copy.
   */
  sharedBytes(key: string, bytesPerElement: number, elements?: number): SharedArrayBuffer {
    const decoded = this.checkedBytes(key, bytesPerElement, elements);
    const { buffer } = decoded;
    if (buffer instanceof SharedArrayBuffer && decoded.byteOffset === 0 && decoded.byteLength === buffer.byteLength)
      return buffer;
    const copy = new Uint8Array(new SharedArrayBuffer(decoded.length));
    copy.set(decoded);
    return copy.buffer;
  }

  private checkedBytes(key: string, bytesPerElement: number, elements: number | undefined): Uint8Array {
    const v = this.value[key];
    const decoded = v instanceof StoredBytes ? v.bytes : Buffer.from(this.string(key), 'base64');
    const ok =
      elements === undefined ? decoded.length % bytesPerElement === 0 : decoded.length === elements * bytesPerElement;
    if (!ok) this.fail(key);
    return decoded;
  }

  /**
   * A saved loss curve: points with a numeric step; loss figures that are not finite numbers are dropped (JSON
   * writes NaN as null). Models without a curve read back an empty one.
   */
  history(key = 'history'): HistoryPoint[] {
    if (!this.has(key)) return [];
    return this.records(key).map((p) => {
      const point: HistoryPoint = { step: p.number('step') };
      const loss = p.finite('loss');
      const valLoss = p.finite('valLoss');
      const valAccuracy = p.finite('valAccuracy');
      if (loss !== undefined) point.loss = loss;
      if (valLoss !== undefined) point.valLoss = valLoss;
      if (valAccuracy !== undefined) point.valAccuracy = valAccuracy;
      return point;
    });
  }

  private finite(key: string): number | undefined {
    const v = this.value[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  }
}
