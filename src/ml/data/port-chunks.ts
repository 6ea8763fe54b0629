/**
 * An upload's bytes handed to the upload thread as they arrive (issue 17 goal 2: parsing overlaps receiving): the
 * event loop posts each chunk on a MessagePort (its ArrayBuffer transferred, not copied), the thread says when it has
 * parsed the first one (the upload's `firstParsed` stage), and gives each chunk back once it is done with it (parsed
 * and compressed). The sender keeps at most a window of bytes not given back (src/services/upload-feed.ts), so a
 * thread that falls behind pauses the request instead of piling the file up in memory, and fills the slices it gets
 * back with the next bytes: a fresh 1 MB slice each time is a fresh mmap under README's MALLOC_MMAP_THRESHOLD_, page
 * faults to fill it and a munmap to free it, ~130–210 ms of CPU per 36 MB.
 */
import type { MessagePort } from 'node:worker_threads';

/** Event loop → upload thread. `end` comes once the whole file is also on disk (a NASA format re-reads it). */
export type FeedMessage = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' } | { type: 'abort' };
/** Upload thread → event loop, once: the first chunk is parsed (the window counts FeedReturn's bytes). */
export interface FeedFirstParsed {
  type: 'firstParsed';
}

/**
 * Upload thread → event loop: the thread is done with a chunk of `bytes` bytes; `slice` is its buffer, transferred
 * back to be filled again (null for a view on part of a buffer: nothing to reuse).
 */
export interface FeedReturn {
  type: 'returned';
  bytes: number;
  slice: Uint8Array<ArrayBuffer> | null;
}

export function isFeedMessage(value: unknown): value is FeedMessage {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  if (value.type === 'chunk') return 'bytes' in value && value.bytes instanceof Uint8Array;
  return value.type === 'end' || value.type === 'abort';
}

export function isFeedFirstParsed(value: unknown): value is FeedFirstParsed {
  return typeof value === 'object' && value !== null && 'type' in value && value.type === 'firstParsed';
}

export function isFeedReturn(value: unknown): value is FeedReturn {
  return (
    typeof value === 'object' &&
    value !== null &&
    'type' in value &&
    value.type === 'returned' &&
    'bytes' in value &&
    typeof value.bytes === 'number' &&
    'slice' in value &&
    (value.slice === null || (value.slice instanceof Uint8Array && value.slice.buffer instanceof ArrayBuffer))
  );
}

/**
 * Gives `slice` (a chunk `chunksFromPort` yielded) back to the sender, which counts it out of its window and fills it
 * again: call it once for every chunk, once nothing reads it any more (parsed, compressed); it is detached here. A
 * view on part of a buffer is only counted (nothing to reuse).
 */
export function giveBack(port: MessagePort, slice: Uint8Array): void {
  const buffer = slice.buffer;
  const whole = buffer instanceof ArrayBuffer && slice.byteOffset === 0 && slice.byteLength === buffer.byteLength;
  const answer: FeedReturn = { type: 'returned', bytes: slice.byteLength, slice: whole ? new Uint8Array(buffer) : null };
  port.postMessage(answer, whole ? [buffer] : []);
}

/** The sender gave up (the client went away, or the edge refused the body): nothing is to be reported. */
export class FeedAborted extends Error {
  override readonly name = 'FeedAborted';
}

/**
 * The chunks posted on `port`, in order, until `end`; once the consumer asks for the second one (the first has been
 * parsed), FeedFirstParsed is posted back. Throws FeedAborted on `abort` or when the port closes first. Closes the
 * port when done.
 */
export async function* chunksFromPort(port: MessagePort): AsyncGenerator<Uint8Array> {
  const queue: (FeedMessage | null)[] = [];
  let wake: (() => void) | null = null;
  const push = (message: FeedMessage | null) => {
    queue.push(message);
    wake?.();
    wake = null;
  };
  port.on('message', (message: unknown) => {
    push(isFeedMessage(message) ? message : { type: 'abort' });
  });
  port.once('close', () => {
    push(null);
  });
  try {
    let head = 0;
    let parsed = 0;
    for (;;) {
      if (head === queue.length) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const message = queue[head];
      queue[head++] = null;
      if (head > 1024) {
        queue.splice(0, head);
        head = 0;
      }
      if (message === null || message.type === 'abort') throw new FeedAborted('The upload was abandoned.');
      if (message.type === 'end') return;
      yield message.bytes;
      if (parsed++ === 0) {
        const first: FeedFirstParsed = { type: 'firstParsed' };
        port.postMessage(first);
      }
    }
  } finally {
    port.close();
  }
}
