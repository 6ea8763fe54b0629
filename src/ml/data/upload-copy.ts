/**
 * The stored form of an upload (the bytes the database keeps: gzip, and their sha256), made in the upload thread
 * from the slices it parses anyway (src/ml/upload-worker.ts), not on the event loop: there, gzip's writes of the
 * request's ~64 KB reads, the concatenation of the compressed pieces and their copy to SQLite's writer thread held
 * the loop for tens of ms each per 34 MB upload (issue 17 goal 2).
 */
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';

/**
 * gzip level of an upload's bytes in the database: level 1 compresses the 34 MB synthetic table 4× faster than the
 * default 6 (0.5 s of CPU instead of 2.1 s) into 13 % more bytes (15.6 MB instead of 13.8 MB). (Huffman-only or RLE
 * halve the CPU again but store the NASA tables 1.4–4× larger: k2_pandc 15 % → 61 % of its size.)
 */
export const UPLOAD_GZIP_LEVEL = 1;
/**
 * zlib's output buffer while an upload is compressed. Its 16 KB default made the ~1,000 pieces of a 34 MB upload
 * (kept until the end) small mallocs interleaved with the request's reads: the heap grew 8 → 57 MB over three
 * 200,000-row uploads and stayed. 1 MB buffers are mmap'd (README's MALLOC_MMAP_THRESHOLD_) and go back to the system
 * when freed: 8 → 8 MB.
 */
const UPLOAD_GZIP_CHUNK_BYTES = 1 << 20;
/**
 * Bytes zlib may have waiting before the next slice waits for it: parsing runs ahead of a compression that lags a
 * little (on a loaded machine its thread gets the CPU late), without piling the whole file up behind it.
 */
const UPLOAD_GZIP_AHEAD_BYTES = 4 << 20;

/** An upload's bytes as the database stores them. */
export interface UploadCopy {
  /** gzip of the bytes, on a SharedArrayBuffer: handed to the event loop and SQLite's writer thread without a copy. */
  gzip: Uint8Array;
  /** sha256 (hex) of the bytes as uploaded. */
  sha256: string;
  /** Bytes uploaded. */
  bytes: number;
}

/** Compresses and hashes the bytes `add` is given, in order; `finish` once they are all given. */
export class UploadCopier {
  private readonly hash = createHash('sha256');
  private readonly zip = createGzip({ level: UPLOAD_GZIP_LEVEL, chunkSize: UPLOAD_GZIP_CHUNK_BYTES });
  private readonly pieces: Buffer[] = [];
  private readonly done: Promise<void>;
  private bytes = 0;

  constructor() {
    this.zip.on('data', (piece: Buffer) => this.pieces.push(piece));
    this.done = new Promise((resolve, reject) => {
      this.zip.once('end', resolve);
      this.zip.once('error', reject);
    });
    // Awaited by `finish` only: an upload that fails first must not leave it unhandled.
    this.done.catch(() => undefined);
  }

  /**
   * Hashes `chunk` and starts compressing it (on zlib's threads: `chunk` must not change until `compressed` is called,
   * which it is once zlib has read it, unless the compression fails). Resolves once zlib has at most
   * UPLOAD_GZIP_AHEAD_BYTES waiting: waited for before the next chunk, so a compression that falls behind holds the
   * feed's window (src/services/upload-feed.ts) rather than piling slices up.
   */
  add(chunk: Uint8Array, compressed?: () => void): Promise<void> {
    this.bytes += chunk.byteLength;
    this.hash.update(chunk);
    const written = this.zip.write(chunk, (error) => {
      if (!error) compressed?.();
    });
    if (written || this.zip.writableLength <= UPLOAD_GZIP_AHEAD_BYTES) return Promise.resolve();
    return new Promise((resolve) => {
      const ready = () => {
        this.zip.off('drain', ready);
        this.zip.off('close', ready);
        resolve();
      };
      this.zip.on('drain', ready);
      this.zip.on('close', ready);
    });
  }

  async finish(): Promise<UploadCopy> {
    this.zip.end();
    await this.done;
    let total = 0;
    for (const piece of this.pieces) total += piece.byteLength;
    const gzip = new Uint8Array(new SharedArrayBuffer(total));
    let at = 0;
    for (const piece of this.pieces) {
      gzip.set(piece, at);
      at += piece.byteLength;
    }
    this.pieces.length = 0;
    return { gzip, sha256: this.hash.digest('hex'), bytes: this.bytes };
  }

  /** The upload failed: nothing more is compressed. */
  discard(): void {
    this.zip.destroy();
    this.pieces.length = 0;
  }
}
