/**
 * An upload's bytes handed to the upload thread as they arrive (issue 17 goal 2: parsing overlaps receiving): the
 * event loop posts each chunk on a MessagePort (its ArrayBuffer transferred, not copied), the thread answers how many
 * bytes it has parsed, and the sender keeps at most a window of bytes unanswered (src/services/upload-feed.ts), so a
 * thread that falls behind pauses the request instead of piling the file up in memory.
 */
import type { MessagePort } from 'node:worker_threads';

/** Event loop → upload thread. `end` comes once the whole file is also on disk (a NASA format re-reads it). */
export type FeedMessage = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' } | { type: 'abort' };
/** Upload thread → event loop: bytes parsed since the last answer. */
export interface FeedAck {
  type: 'consumed';
  bytes: number;
}

export function isFeedMessage(value: unknown): value is FeedMessage {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  if (value.type === 'chunk') return 'bytes' in value && value.bytes instanceof Uint8Array;
  return value.type === 'end' || value.type === 'abort';
}

export function isFeedAck(value: unknown): value is FeedAck {
  return (
    typeof value === 'object' &&
    value !== null &&
    'type' in value &&
    value.type === 'consumed' &&
    'bytes' in value &&
    typeof value.bytes === 'number'
  );
}

/** The sender gave up (the client went away, or the edge refused the body): nothing is to be reported. */
export class FeedAborted extends Error {
  override readonly name = 'FeedAborted';
}

/**
 * The chunks posted on `port`, in order, until `end`; each is acknowledged once the consumer asks for the next one
 * (it has been parsed). Throws FeedAborted on `abort` or when the port closes first. Closes the port when done.
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
      const ack: FeedAck = { type: 'consumed', bytes: message.bytes.byteLength };
      port.postMessage(ack);
    }
  } finally {
    port.close();
  }
}
