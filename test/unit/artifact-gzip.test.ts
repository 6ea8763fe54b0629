/**
 * The training thread's artefact compression (src/ml/artifact.ts gzipArtifactParts): a large artefact is compressed
 * as two gzip members at once, and gunzip reads back exactly the artefact's bytes, whatever the parts' boundaries.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ARTIFACT_GZIP_LEVEL, GZIP_SLICE_BYTES, gzipArtifactParts } from '../../src/ml/artifact.js';
import { Random } from '../../src/ml/random.js';

/** Compressible but not constant bytes (tree arrays are neither): a seeded 64 KB block, varied per repetition. */
function bytes(length: number, seed: number): Uint8Array {
  const random = new Random(seed);
  const block = Uint8Array.from({ length: 1 << 16 }, (_, i) => (random.next() < 0.7 ? i % 7 : random.int(256)));
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = block[i & 0xffff] ^ ((i >>> 16) & 0xff);
  return out;
}

function joined(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** gzip members: each starts with zlib's 10-byte header (no name, no time, this level's flag, Unix). */
function members(gz: Uint8Array): number {
  const header = gzipSync(new Uint8Array(0), { level: ARTIFACT_GZIP_LEVEL }).subarray(0, 10);
  let count = 0;
  for (let at = Buffer.from(gz).indexOf(header); at !== -1; at = Buffer.from(gz).indexOf(header, at + 1)) count++;
  return count;
}

describe('gzipArtifactParts', () => {
  it('gives back the same bytes: one member for small artefacts (as before), two compressed at once above two slices', async () => {
    const S = GZIP_SLICE_BYTES;
    const cases: Uint8Array[][] = [
      [bytes(1000, 1)],
      // One slice or less in several parts: joined and compressed at once (gzipSync).
      [bytes(700, 6), new Uint8Array(0), bytes(S - 700, 7)],
      [bytes(2 * S, 2)],
      // Parts crossing the members' boundary and the slice boundaries, an empty part among them.
      [bytes(3 * S + 123, 3), new Uint8Array(0), bytes(S / 2 + 7, 4), bytes(11, 5)],
    ];
    for (const parts of cases) {
      const steps: number[] = [];
      const gz = await gzipArtifactParts(parts, (done, total) => steps.push(done / total));
      const whole = joined(parts);
      expect(gunzipSync(gz).equals(whole)).toBe(true);
      expect(steps.at(-1)).toBe(1);
      expect(steps.every((s, i) => i === 0 || s >= steps[i - 1])).toBe(true);
      // Its own buffer (a small Buffer can be a view into Node's pool, which would be cloned whole to the server).
      expect(gz.byteOffset === 0 && gz.buffer.byteLength === gz.byteLength).toBe(true);
      if (whole.length > 2 * S) expect(members(gz)).toBe(2);
      else expect(Buffer.from(gz).equals(gzipSync(whole, { level: ARTIFACT_GZIP_LEVEL }))).toBe(true);
    }
  });
});
