/**
 * Reading a stored pipeline artefact back: JSON from the database is checked field by field (the fields the
 * prediction path reads), never cast. A malformed artefact is a server fault, not user input: a plain Error, masked
 * at the edge and logged.
 */
import { createGunzip, createGzip, gzipSync } from 'node:zlib';
import { concatBytes } from '../domain/bytes.js';
import { TASKS } from '../domain/data.js';
import { MODEL_TYPE_IDS } from './catalog.js';
import type { PipelineArtifact } from './pipeline.js';
import type { CalibrationJSON, CalibratorJSON } from './selection/calibration.js';
import type { PreprocessorJSON } from './preprocess.js';
import type { SerializedModel } from './types.js';
import { StoredBytes, stringifyWithBytes } from './models/stored.js';

function corrupt(field: string): never {
  throw new Error(`The stored model artefact is malformed (${field}).`);
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, field: string): Json {
  return isRecord(value) ? value : corrupt(field);
}

function strings(value: unknown, field: string): string[] {
  const list: unknown[] = Array.isArray(value) ? value : corrupt(field);
  return list.every((v): v is string => typeof v === 'string') ? list : corrupt(field);
}

function numbers(value: unknown, field: string): number[] {
  const list: unknown[] = Array.isArray(value) ? value : corrupt(field);
  return list.every((v): v is number => typeof v === 'number') ? list : corrupt(field);
}

/** A number, or null (JSON has no NaN: the artefact writes missing values and unbounded ranges as null). */
function numberOrNull(value: unknown, field: string): number | null {
  return value === null || typeof value === 'number' ? value : corrupt(field);
}

function bool(value: unknown, field: string): boolean {
  return typeof value === 'boolean' ? value : corrupt(field);
}

function oneOf<T extends string>(value: unknown, words: readonly T[], field: string): T {
  return words.find((word) => word === value) ?? corrupt(field);
}

function preprocessor(value: unknown): PreprocessorJSON {
  const p = record(value, 'preprocessor');
  if (p.formatVersion !== 1) corrupt('preprocessor.formatVersion');
  const options = record(p.options, 'preprocessor.options');
  return {
    formatVersion: 1,
    options: {
      impute: bool(options.impute, 'preprocessor.options'),
      scale: bool(options.scale, 'preprocessor.options'),
    },
    medians: numbers(p.medians, 'preprocessor.medians'),
    means: numbers(p.means, 'preprocessor.means'),
    stds: numbers(p.stds, 'preprocessor.stds'),
    ranges: (Array.isArray(p.ranges) ? p.ranges : corrupt('preprocessor.ranges')).map((range) => {
      const r = record(range, 'preprocessor.ranges');
      return { min: numberOrNull(r.min, 'preprocessor.ranges'), max: numberOrNull(r.max, 'preprocessor.ranges') };
    }),
  };
}

function model(value: unknown): SerializedModel {
  const m = record(value, 'model');
  const formatVersion = typeof m.formatVersion === 'number' ? m.formatVersion : corrupt('model.formatVersion');
  // The model's own fields are read by its loader (models/define.ts and the model), which checks them.
  return { ...m, modelType: oneOf(m.modelType, MODEL_TYPE_IDS, 'model.modelType'), formatVersion };
}

function calibrator(value: unknown): CalibratorJSON {
  const c = record(value, 'calibration.calibrators');
  if (c.method === 'sigmoid') {
    const a = typeof c.a === 'number' ? c.a : corrupt('calibration.a');
    const b = typeof c.b === 'number' ? c.b : corrupt('calibration.b');
    return { method: 'sigmoid', a, b };
  }
  if (c.method !== 'isotonic') corrupt('calibration.method');
  const x = numbers(c.x, 'calibration.x');
  const y = numbers(c.y, 'calibration.y');
  if (x.length === 0 || x.length !== y.length) corrupt('calibration.x');
  return { method: 'isotonic', x, y };
}

function calibration(value: unknown, classes: number): CalibrationJSON {
  const c = record(value, 'calibration');
  if (c.formatVersion !== 1) corrupt('calibration.formatVersion');
  const calibrators = (Array.isArray(c.calibrators) ? c.calibrators : corrupt('calibration.calibrators')).map(
    calibrator,
  );
  if (c.numClasses !== classes || calibrators.length !== (classes === 2 ? 1 : classes))
    corrupt('calibration.numClasses');
  return {
    formatVersion: 1,
    method: oneOf(c.method, ['sigmoid', 'isotonic'] as const, 'calibration.method'),
    numClasses: classes,
    calibrators,
    fittedRows: typeof c.fittedRows === 'number' ? c.fittedRows : corrupt('calibration.fittedRows'),
  };
}

function classScales(value: unknown, classes: number): number[] {
  const scales = numbers(value, 'classScales');
  return scales.length === classes && scales.every((s) => Number.isFinite(s) && s > 0)
    ? scales
    : corrupt('classScales');
}

/** Parses and checks an artefact's JSON text. */
export function decodeArtifact(text: string): PipelineArtifact {
  return checkArtifact(JSON.parse(text));
}

/**
 * The binary artefact: `MAGIC`, the header's byte length and the number of byte blocks (uint32 LE), each block's
 * byte length (uint32 LE), the header (the artefact's JSON with every StoredBytes written as {"$bytes": index}),
 * then the blocks. A 100-tree forest at 35,000 rows is ~36 MB of node arrays: as base64 in JSON they cost more to
 * encode, compress and parse than the fit's own last steps (issue 17 goal 4). Artefacts stored before are JSON
 * text and still load (`decodeArtifactBytes` tells them apart by the magic).
 */
const MAGIC = Buffer.from('EXOART\x00\x02', 'latin1');

/**
 * zlib level of stored artefacts. Measured on a 100-tree forest at 35,000 training rows (bench:post-fit, load ~23):
 * the binary artefact (36 MB) at level 1 is 10.2 MB in 0.25 CPU s, at level 6 8.5 MB in 1.0 s; the JSON artefact
 * before it was 11.1 MB at level 6, in 1.0 s after 0.9 s of stringify and base64.
 */
export const ARTIFACT_GZIP_LEVEL = 1;

/** The artefact is compressed in slices of this size, a progress step each (a 1,000-tree forest is ~90 MB). */
export const GZIP_SLICE_BYTES = 4 * 1024 * 1024;

/**
 * gzip on libuv's pool, slice by slice, so the thread can report each slice (one gzipSync call says nothing). An
 * artefact of one slice or less (every linear model, a single tree, most ensembles below ~50,000 rows) is one step
 * anyway: it is joined and compressed here with gzipSync, ~0.1-1 ms, where the stream's round trips through the
 * pool took 1-12 ms and up to ~25 ms as a fresh training thread's first (bench:scale's `pack s` at 10,000 rows:
 * 0.003-0.028 s, most of a linear model's after-fit time). Larger artefacts' parts are compressed in turn, never
 * joined. Above two slices the byte stream is compressed as two gzip members at once, its first and second half,
 * one on each core (zlib's pool has four threads; gunzip reads the members as one stream, so every reader sees the
 * same artefact bytes): the pack takes about half the time.
 */
export async function gzipArtifactParts(
  parts: Uint8Array[],
  onStep: (done: number, total: number) => void,
): Promise<Uint8Array> {
  const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const total = Math.max(1, Math.ceil(length / GZIP_SLICE_BYTES));
  if (total === 1) {
    const compressed = gzipSync(concatBytes(parts), { level: ARTIFACT_GZIP_LEVEL });
    onStep(1, 1);
    // A copy of its own: a small Buffer can be a view into Node's shared pool.
    return new Uint8Array(compressed);
  }
  const members = total > 2 ? 2 : 1;
  // Member m compresses the stream's bytes [bounds[m], bounds[m + 1]), cut at a slice boundary.
  const bounds = members === 2 ? [0, Math.ceil(total / 2) * GZIP_SLICE_BYTES, length] : [0, length];
  let step = 0;
  const compressed = await Promise.all(
    Array.from({ length: members }, async (_, m) => {
      const gzip = createGzip({ level: ARTIFACT_GZIP_LEVEL });
      const chunks: Buffer[] = [];
      gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise<void>((resolve, reject) => {
        gzip.on('end', resolve);
        gzip.on('error', reject);
      });
      const write = (slice: Uint8Array) =>
        new Promise<void>((resolve, reject) =>
          gzip.write(slice, (error) => {
            if (error) reject(error);
            else resolve();
          }),
        );
      const [from, to] = [bounds[m], bounds[m + 1]];
      let offset = 0;
      let sliceEnd = from + GZIP_SLICE_BYTES;
      for (const part of parts) {
        const partEnd = offset + part.byteLength;
        // A slice ends at the next multiple of GZIP_SLICE_BYTES of the whole, so the steps are those of one buffer.
        for (let at = Math.max(from, offset); at < Math.min(to, partEnd);) {
          const end = Math.min(to, partEnd, sliceEnd);
          await write(part.subarray(at - offset, end - offset));
          at = end;
          if (at === sliceEnd) {
            onStep(Math.min(++step, total), total);
            sliceEnd += GZIP_SLICE_BYTES;
          }
        }
        offset = partEnd;
      }
      gzip.end();
      await ended;
      return chunks;
    }),
  );
  if (step < total) onStep(total, total);
  // One copy into a buffer of its own (Buffer.concat then new Uint8Array held the compressed bytes three times).
  return concatBytes(compressed.flat());
}

/** The artefact as stored (before compression): binary, typed arrays as their bytes. */
export function encodeArtifact(artifact: PipelineArtifact): Buffer {
  return Buffer.concat(encodeArtifactParts(artifact));
}

/**
 * The binary artefact as its parts in order (prefix, header, then the blocks as views of the model's arrays): their
 * concatenation is `encodeArtifact`. The training thread compresses them one after another, so a large forest's
 * node arrays are not copied into one buffer first (151 MB at 200,000 rows).
 */
export function encodeArtifactParts(artifact: PipelineArtifact): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  const header = Buffer.from(
    stringifyWithBytes(artifact, (bytes) => {
      blocks.push(bytes);
      return { $bytes: blocks.length - 1 };
    }),
    'utf8',
  );
  const prefix = Buffer.alloc(MAGIC.length + 8 + 4 * blocks.length);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(header.length, MAGIC.length);
  prefix.writeUInt32LE(blocks.length, MAGIC.length + 4);
  blocks.forEach((block, i) => prefix.writeUInt32LE(block.byteLength, MAGIC.length + 8 + 4 * i));
  return [prefix, header, ...blocks];
}

/** Reads a stored artefact (decompressed): the binary one, or the JSON text of artefacts stored before it. */
export function decodeArtifactBytes(raw: Uint8Array): PipelineArtifact {
  const buffer = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (buffer.length < MAGIC.length || !buffer.subarray(0, MAGIC.length).equals(MAGIC))
    return decodeArtifact(buffer.toString('utf8'));
  const layout = binaryLayout(buffer);
  if (!layout) corrupt('binary header');
  let offset = layout.blocksAt;
  const blocks = layout.lengths.map((length) => {
    if (offset + length > buffer.length) corrupt('binary blocks');
    // Each block in shared memory of its own: a loaded tree model's arrays are these bytes (StoredFields.sharedBytes),
    // not a second copy, and the predictor holding the artefact does not keep the whole decompressed buffer alive.
    const block = new Uint8Array(new SharedArrayBuffer(length));
    block.set(buffer.subarray(offset, offset + length));
    offset += length;
    return block;
  });
  if (offset !== buffer.length) corrupt('binary blocks');
  return parseBinary(layout.header, blocks);
}

/** Output chunks of the streaming gunzip: above glibc's mmap threshold, so each is returned to the system when freed. */
const INFLATE_CHUNK_BYTES = 1024 * 1024;

/**
 * A stored (gzipped) artefact read as it inflates: each binary block is written straight into its shared buffer, so
 * the whole decompressed artefact, which `decodeArtifactBytes(gunzipSync(…))` holds beside the blocks, never exists
 * (a 100-tree forest at 200,000 rows: ~130 MB). `bytes` is the decompressed length (cache sizes). The JSON artefacts
 * stored before are gathered and parsed whole.
 */
export async function decodeGzippedArtifact(
  gzipped: Uint8Array,
): Promise<{ artifact: PipelineArtifact; bytes: number }> {
  let head: Buffer = Buffer.alloc(0);
  // What the first bytes said (an object: TypeScript does not see the callback below assign it): the binary layout
  // once the prefix and header have arrived, or the chunks of a JSON artefact.
  const read: { layout: BinaryLayout | null; text: Buffer[] | null } = { layout: null, text: null };
  const blocks: Uint8Array[] = [];
  let filled = 0;
  let bytes = 0;
  // Allocates the next blocks once the current one is full (a zero-length block is full at once).
  const advance = (lengths: number[]): void => {
    while (blocks.length < lengths.length && (blocks.length === 0 || filled === blocks[blocks.length - 1].length)) {
      blocks.push(new Uint8Array(new SharedArrayBuffer(lengths[blocks.length])));
      filled = 0;
    }
  };
  const take = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (read.text) {
      read.text.push(chunk);
      return;
    }
    let rest = chunk;
    let { layout } = read;
    if (!layout) {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.length < MAGIC.length) return;
      if (!head.subarray(0, MAGIC.length).equals(MAGIC)) {
        read.text = [head];
        return;
      }
      layout = read.layout = binaryLayout(head);
      if (!layout) return;
      rest = head.subarray(layout.blocksAt);
      head = Buffer.alloc(0);
      advance(layout.lengths);
    }
    for (let at = 0; at < rest.length;) {
      const current = blocks.at(-1);
      if (!current || filled === current.length) corrupt('binary blocks');
      const n = Math.min(rest.length - at, current.length - filled);
      current.set(rest.subarray(at, at + n), filled);
      filled += n;
      at += n;
      advance(layout.lengths);
    }
  };
  await new Promise<void>((resolve, reject) => {
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
    gunzip.on('data', (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (error) {
        gunzip.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    gunzip.on('end', resolve);
    gunzip.on('error', reject);
    gunzip.end(gzipped);
  });
  const { layout, text } = read;
  if (text) return { artifact: decodeArtifact(Buffer.concat(text).toString('utf8')), bytes };
  if (!layout) {
    if (head.length >= MAGIC.length) corrupt('binary header');
    return { artifact: decodeArtifact(head.toString('utf8')), bytes };
  }
  const last = blocks.at(-1);
  if (blocks.length !== layout.lengths.length || (last !== undefined && filled !== last.length))
    corrupt('binary blocks');
  return { artifact: parseBinary(layout.header, blocks), bytes };
}

/** The binary artefact's prefix and header: block lengths, the header's JSON, where the blocks begin. */
interface BinaryLayout {
  lengths: number[];
  header: string;
  blocksAt: number;
}

/** The layout read from the artefact's first bytes, or null when they do not hold all of it yet. */
function binaryLayout(buffer: Buffer): BinaryLayout | null {
  const fixed = MAGIC.length + 8;
  if (buffer.length < fixed) return null;
  const headerLength = buffer.readUInt32LE(MAGIC.length);
  const count = buffer.readUInt32LE(MAGIC.length + 4);
  const headerAt = fixed + 4 * count;
  if (headerAt + headerLength > buffer.length) return null;
  return {
    lengths: Array.from({ length: count }, (_, i) => buffer.readUInt32LE(fixed + 4 * i)),
    header: buffer.toString('utf8', headerAt, headerAt + headerLength),
    blocksAt: headerAt + headerLength,
  };
}

/** The artefact from its header's JSON, whose `{ $bytes: i }` stand for block i. */
function parseBinary(header: string, blocks: Uint8Array[]): PipelineArtifact {
  const stored = blocks.map((block) => new StoredBytes(block));
  const parsed: unknown = JSON.parse(header, (_key, value: unknown) => {
    if (!isRecord(value) || !('$bytes' in value)) return value;
    const index = value.$bytes;
    return typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < stored.length
      ? stored[index]
      : corrupt('binary block index');
  });
  return checkArtifact(parsed);
}

/** Checks a parsed artefact (a soft-voting ensemble's members are artefacts inside its own). */
export function checkArtifact(value: unknown): PipelineArtifact {
  const a = record(value, 'artefact');
  if (a.formatVersion !== 1) corrupt('formatVersion');
  const mission = a.mission === null ? null : typeof a.mission === 'string' ? a.mission : corrupt('mission');
  const classes = strings(a.classes, 'classes');
  return {
    formatVersion: 1,
    modelType: oneOf(a.modelType, MODEL_TYPE_IDS, 'modelType'),
    task: oneOf(a.task, TASKS, 'task'),
    classes,
    features: strings(a.features, 'features'),
    tableColumns: strings(a.tableColumns, 'tableColumns'),
    labelColumn: typeof a.labelColumn === 'string' ? a.labelColumn : corrupt('labelColumn'),
    idColumns: strings(a.idColumns, 'idColumns'),
    mission,
    usesVettingFeatures: bool(a.usesVettingFeatures, 'usesVettingFeatures'),
    preprocessor: preprocessor(a.preprocessor),
    model: model(a.model),
    background: (Array.isArray(a.background) ? a.background : corrupt('background')).map((row) =>
      (Array.isArray(row) ? row : corrupt('background')).map((v) => numberOrNull(v, 'background')),
    ),
    ...(a.calibration === undefined ? {} : { calibration: calibration(a.calibration, classes.length) }),
    ...(a.classScales === undefined ? {} : { classScales: classScales(a.classScales, classes.length) }),
  };
}
