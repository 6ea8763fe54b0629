/**
 * graphql-ws fan-out of shared subscriptions (speed issue 16): ONE source per (operation text, operation name,
 * variables) — so per run and selection — instead of an async iterator, envelop pipeline and bus queue per subscriber.
 * Each result of that source is serialised once; each subscriber's `next` message is framed (RFC 6455 header + its own
 * `{"id":…,"type":"next","payload":` prefix + the shared payload + `}`: the bytes graphql-ws would send) and written
 * synchronously to its socket by one delivery loop per group, which yields to the event loop every SLICE_MS. The
 * source is read as fast as it yields: results that arrive while a pass is under way (a stage change is 2–5 events
 * within a millisecond) are queued in the log, and each subscriber gets all it is owed as ONE write of consecutive
 * frames — a burst costs one pass and one syscall per socket, not one pass per event.
 *
 * Per subscriber, only what must be its own: authorisation (its own subscribe ran through the enveloped pipeline
 * before it got here), and its snapshot — the first result of its own stream, read after the shared source is
 * attached; the shared results at or below the snapshot's seq are skipped, so joining mid-run leaves no gap and no
 * duplicate. The shared results are kept in a log until every subscriber has written them: a socket whose kernel
 * buffer is full waits for `drain` and then catches up from the log (holding back only itself); one that falls more
 * than `maxOwedBytes` behind ends with an error message. `complete` and errors stay graphql-ws's own messages: the
 * iterator handed to graphql-ws yields nothing and ends (or throws) once its subscriber has been written everything.
 *
 * Where a delivery's main-thread time goes (bench:live, 1,000 subscribers, --cpu-prof, load 10–27): before, ~45 % the
 * socket's writev and the rest the per-subscriber bus hand-out, ProgressStream and envelop iterators (promise hops),
 * ws's framing and garbage (32 µs CPU per extra delivery); now ~75 % the one write syscall per socket (16 µs).
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import { AppError } from '../domain/errors.js';
import { MASKED_MESSAGE, isGraphQLError, toGraphQLError } from './graphql-errors.js';
import { sharedEventSeq } from './shared-subscriptions.js';

/**
 * Longest run of writes (~10–30 µs each) in one event-loop turn: `health` and other requests are read and answered
 * between slices (setImmediate: the poll phase runs first), so they wait at most about this long per turn they need.
 */
const SLICE_MS = 3;
/** One write carries at most about this many bytes of frames; the rest of what a socket is owed stays in the log. */
const BATCH_BYTES = 64 * 1024;
/** `}` closing a `next` message after its payload. */
const MESSAGE_END = 0x7d;

/**
 * Timing of the fan-out for benchmarks (bench:live): a `result` message when a shared result enters the log, a `write`
 * message per socket write with the seqs of its first and last frame. Nothing is measured while no one subscribes.
 */
export const fanOutTrace = diagnostics_channel.channel('exoplanet:ws-fanout');
export type FanOutTraceMessage =
  | { type: 'result'; seq: number | undefined; time: number }
  | {
      type: 'write';
      first: number | undefined;
      last: number | undefined;
      time: number;
      bytes: number;
      writeMs: number;
    };

/** A shared result, serialised once: its source event's seq (undefined: always delivered) and payload bytes. */
interface Entry {
  readonly seq: number | undefined;
  readonly payload: Buffer;
  /** Payload bytes of the log up to and including this entry (owed bytes = difference of two of these). */
  readonly total: number;
}

interface Member {
  readonly ws: WebSocket;
  readonly socket: Duplex;
  /** `{"id":<id>,"type":"next","payload":` — graphql-ws's key order. */
  readonly prefix: Buffer;
  /** Index of the next log entry to write. */
  cursor: number;
  /** Seq of its snapshot: shared results at or below it are already covered. */
  after: number;
  /** Its snapshot is written: it takes shared results. */
  live: boolean;
  /** Its socket's buffer was not empty after a write: the next writes wait for `drain`. */
  waiting: boolean;
  finished: boolean;
  readonly onDrain: () => void;
  /** Ends the iterator graphql-ws waits on: done (graphql-ws sends `complete`) or an error (it sends `error`). */
  settle: (error?: unknown) => void;
}

export interface FanOutOptions {
  /** A result's `next` payload as UTF-8 JSON (memoised per result object by the caller). */
  serialise: (result: ExecutionResult) => Buffer;
  /** A subscriber owed more payload bytes than this (its socket not reading) is ended with an error. */
  maxOwedBytes: number;
}

export interface JoinRequest {
  /** Same key ⇒ same results (sharedOperationKey). */
  key: string;
  ws: WebSocket;
  socket: Duplex;
  id: string;
  /** This subscriber's own stream (its enveloped subscription): only its first result (the snapshot) is read. */
  own: AsyncIterable<ExecutionResult>;
  /** Opens the shared source (the same operation for the first subscriber's context) when no group runs yet. */
  openSource: () => unknown;
}

const yieldTurn = () =>
  new Promise<void>((resolve) => {
    setImmediate(resolve);
  });

/** Bytes of the RFC 6455 frame of one unmasked text message of `length` bytes. */
function frameSize(length: number): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + length;
}

/** Writes one frame (header, prefix, payload, `}`) into `bytes` at `offset`; returns the offset after it. */
function writeFrame(bytes: Buffer, offset: number, prefix: Buffer, payload: Buffer): number {
  const length = prefix.length + payload.length + 1;
  const header = frameSize(length) - length;
  bytes[offset] = 0x81; // FIN, text
  if (header === 2) bytes[offset + 1] = length;
  else if (header === 4) {
    bytes[offset + 1] = 126;
    bytes.writeUInt16BE(length, offset + 2);
  } else {
    bytes[offset + 1] = 127;
    bytes.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
    bytes.writeUInt32BE(length >>> 0, offset + 6);
  }
  prefix.copy(bytes, offset + header);
  payload.copy(bytes, offset + header + prefix.length);
  bytes[offset + header + length - 1] = MESSAGE_END;
  return offset + header + length;
}

/** Consecutive frames of `payloads` for one subscriber, in one buffer (one write). */
export function frames(prefix: Buffer, payloads: readonly Buffer[]): Buffer {
  let size = 0;
  for (const payload of payloads) size += frameSize(prefix.length + payload.length + 1);
  const bytes = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const payload of payloads) offset = writeFrame(bytes, offset, prefix, payload);
  return bytes;
}

/** What a failed shared source tells its subscribers: its own GraphQL error, or the masked message. */
function sourceFailure(result: unknown): GraphQLError {
  if (typeof result === 'object' && result !== null && 'errors' in result && Array.isArray(result.errors)) {
    const first: unknown = result.errors[0];
    if (isGraphQLError(first)) return first;
  }
  return new GraphQLError(MASKED_MESSAGE, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

class Group {
  readonly members = new Set<Member>();
  private readonly log: Entry[] = [];
  /** Index of log[0], and the running payload total of the entries trimmed before it. */
  private base = 0;
  private baseTotal = 0;
  private ended = false;
  private failure: unknown = undefined;
  private source: AsyncIterator<ExecutionResult> | null = null;
  private closed = false;
  /** The delivery loop is running (it picks up results appended meanwhile). */
  private delivering = false;
  /** Resolves once the source is attached (its own first result read), so snapshots read after it leave no gap. */
  readonly attached: Promise<void>;
  private onAttached: () => void = () => undefined;

  constructor(
    private readonly options: FanOutOptions,
    private readonly onEmpty: () => void,
  ) {
    this.attached = new Promise((resolve) => (this.onAttached = resolve));
  }

  private get end(): number {
    return this.base + this.log.length;
  }

  /** A subscriber joins: it will take the results read from now on, after its snapshot. */
  add(member: Member, own: AsyncIterable<ExecutionResult>): void {
    member.cursor = this.end;
    this.members.add(member);
    void this.start(member, own);
  }

  /** Reads the shared source: its first result (the group's own snapshot) only marks it attached. */
  async pump(openSource: () => unknown): Promise<void> {
    try {
      const opened: unknown = await openSource();
      if (!isAsyncIterable<ExecutionResult>(opened)) throw sourceFailure(opened);
      this.source = opened[Symbol.asyncIterator]();
      const first = this.closed ? { done: true } : await this.source.next();
      this.onAttached();
      if (this.closed) await this.source.return?.();
      else if (!first.done) {
        for (;;) {
          const next = await this.source.next();
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may set it while next() waits
          if (next.done || this.closed) break;
          this.append(next.value);
          // Not awaited, and started after this turn: results published together (a stage change, a burst on the
          // bus) and those that arrive during a pass go out in each subscriber's next (coalesced) write.
          if (!this.delivering) {
            this.delivering = true;
            setImmediate(() => void this.deliver());
          }
        }
      }
    } catch (error) {
      this.failure = error;
    }
    this.ended = true;
    this.onAttached();
    this.onEmpty();
    // Those still behind are finished by the delivery loop once written.
    for (const member of this.members) this.finishIfDone(member);
  }

  private append(result: ExecutionResult): void {
    const payload = this.options.serialise(result);
    const total = (this.log.at(-1)?.total ?? this.baseTotal) + payload.length;
    const seq = sharedEventSeq(result);
    this.log.push({ seq, payload, total });
    if (fanOutTrace.hasSubscribers)
      fanOutTrace.publish({ type: 'result', seq, time: Date.now() } satisfies FanOutTraceMessage);
  }

  /**
   * Passes over the subscribers until none is owed a result that arrived before its pass began, each pass writing
   * every caught-up subscriber what it is owed (one write), yielding every SLICE_MS; trims the log after each pass.
   */
  private async deliver(): Promise<void> {
    try {
      let sliceStart = performance.now();
      for (let passEnd = -1; passEnd < this.end;) {
        passEnd = this.end;
        // A Set's iteration sees members that join or leave during the yields.
        for (const member of this.members) {
          if (!member.live || member.finished) continue;
          if (member.waiting) {
            this.checkOwed(member);
            continue;
          }
          this.flush(member);
          this.finishIfDone(member);
          if (performance.now() - sliceStart >= SLICE_MS) {
            await yieldTurn();
            sliceStart = performance.now();
          }
        }
        this.trim();
      }
    } finally {
      this.delivering = false;
    }
  }

  /** Drops log entries every subscriber has written (or skipped): once per result, O(subscribers). */
  private trim(): void {
    let lowest = this.end;
    for (const member of this.members) lowest = Math.min(lowest, member.cursor);
    if (lowest > this.base) {
      this.baseTotal = this.log[lowest - this.base - 1].total;
      this.log.splice(0, lowest - this.base);
      this.base = lowest;
    }
  }

  /** Writes what the member is owed, BATCH_BYTES of frames per write, until its socket buffers. */
  private flush(member: Member): void {
    const payloads: Buffer[] = [];
    while (member.cursor < this.end && !member.waiting) {
      let bytes = 0;
      let first: number | undefined;
      let last: number | undefined;
      payloads.length = 0;
      while (member.cursor < this.end && bytes < BATCH_BYTES) {
        const entry = this.log[member.cursor - this.base];
        member.cursor++;
        if (entry.seq !== undefined && entry.seq <= member.after) continue;
        payloads.push(entry.payload);
        bytes += entry.payload.length;
        if (payloads.length === 1) first = entry.seq;
        last = entry.seq;
      }
      if (payloads.length === 0 || !this.write(member, frames(member.prefix, payloads), first, last)) return;
    }
  }

  /**
   * One write of `next` messages (seqs `first`…`last`, for the trace); false when the socket is no longer open
   * (graphql-ws ends the operation on close).
   */
  private write(member: Member, bytes: Buffer, first?: number, last?: number): boolean {
    if (member.ws.readyState !== member.ws.OPEN || !member.socket.writable) {
      member.cursor = this.end;
      return false;
    }
    const tracing = fanOutTrace.hasSubscribers;
    const start = tracing ? performance.now() : 0;
    // Past the socket's high-water mark (the kernel is not taking the bytes): this member waits for `drain`, its
    // further results stay in the shared log.
    if (!member.socket.write(bytes)) {
      member.waiting = true;
      member.socket.once('drain', member.onDrain);
    }
    if (tracing)
      fanOutTrace.publish({
        type: 'write',
        first,
        last,
        time: Date.now(),
        bytes: bytes.length,
        writeMs: performance.now() - start,
      } satisfies FanOutTraceMessage);
    return true;
  }

  private checkOwed(member: Member): void {
    const written = member.cursor > this.base ? this.log[member.cursor - this.base - 1].total : this.baseTotal;
    const owed = (this.log.at(-1)?.total ?? this.baseTotal) - written;
    if (owed <= this.options.maxOwedBytes) return;
    const megabytes = Math.round(this.options.maxOwedBytes / 2 ** 20);
    this.leave(member);
    member.settle(
      toGraphQLError(
        new AppError(
          'SERVICE_UNAVAILABLE',
          `This subscription fell more than ${megabytes} MB of events behind (WS_MAX_OWED_MB): its socket is not read fast enough. Subscribe again to resume from the current state.`,
        ),
      ),
    );
  }

  drained(member: Member): void {
    member.waiting = false;
    if (member.finished) return;
    this.flush(member);
    this.finishIfDone(member);
  }

  /** Its snapshot first (its own stream's first result, read once the source is attached), then the shared log. */
  private async start(member: Member, own: AsyncIterable<ExecutionResult>): Promise<void> {
    const iterator = own[Symbol.asyncIterator]();
    try {
      await this.attached;
      // The source failed before it was attached: nothing shared will come.
      if (!member.finished && this.ended && this.failure !== undefined) {
        this.leave(member);
        member.settle(this.failure);
      }
      if (member.finished) return;
      const first = await iterator.next();
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the subscriber may leave while it waits
      if (member.finished) return;
      if (first.done) {
        this.leave(member);
        member.settle();
        return;
      }
      member.after = sharedEventSeq(first.value) ?? Number.NEGATIVE_INFINITY;
      member.live = true;
      if (!this.write(member, frames(member.prefix, [this.options.serialise(first.value)]))) return;
      if (!member.waiting) this.flush(member);
      this.finishIfDone(member);
    } catch (error) {
      if (member.finished) return;
      this.leave(member);
      member.settle(error);
    } finally {
      // Only its snapshot was wanted: release its bus listener.
      void iterator.return?.();
    }
  }

  private finishIfDone(member: Member): void {
    if (!this.ended || !member.live || member.waiting || member.finished || member.cursor < this.end) return;
    this.leave(member);
    member.settle(this.failure);
  }

  leave(member: Member): void {
    if (member.finished) return;
    member.finished = true;
    member.socket.off('drain', member.onDrain);
    this.members.delete(member);
    // What only it still needed is trimmed with the next result (not here: 10,000 completing would be quadratic).
    if (this.members.size === 0 && !this.ended) this.close();
  }

  private close(): void {
    this.closed = true;
    this.onEmpty();
    void this.source?.return?.();
  }
}

/** The groups of one WebSocket server. */
export function createWebSocketFanOut(options: FanOutOptions) {
  const groups = new Map<string, Group>();
  return {
    /** The iterator graphql-ws iterates for this subscriber: it yields nothing, ends after the subscriber's last write. */
    join(request: JoinRequest): AsyncIterableIterator<ExecutionResult> {
      let group = groups.get(request.key);
      if (!group) {
        const created: Group = new Group(options, () => {
          if (groups.get(request.key) === created) groups.delete(request.key);
        });
        groups.set(request.key, created);
        void created.pump(request.openSource);
        group = created;
      }
      const joined = group;
      let outcome: IteratorResult<ExecutionResult> | { error: unknown } | null = null;
      let wake: (() => void) | null = null;
      const member: Member = {
        ws: request.ws,
        socket: request.socket,
        prefix: Buffer.from(`{"id":${JSON.stringify(request.id)},"type":"next","payload":`),
        cursor: 0,
        after: Number.NEGATIVE_INFINITY,
        live: false,
        waiting: false,
        finished: false,
        onDrain: () => {
          joined.drained(member);
        },
        settle: (error) => {
          outcome = error === undefined ? { done: true, value: undefined } : { error };
          wake?.();
        },
      };
      joined.add(member, request.own);
      const done: IteratorResult<ExecutionResult> = { done: true, value: undefined };
      const iterator: AsyncIterableIterator<ExecutionResult> = {
        [Symbol.asyncIterator]: () => iterator,
        next: async () => {
          if (!outcome) await new Promise<void>((resolve) => (wake = resolve));
          const settled = outcome ?? done;
          if ('error' in settled) throw settled.error;
          return settled;
        },
        // graphql-ws: the client's `complete`, or the socket closed.
        return: () => {
          joined.leave(member);
          outcome ??= done;
          wake?.();
          return Promise.resolve(done);
        },
      };
      return iterator;
    },
  };
}
