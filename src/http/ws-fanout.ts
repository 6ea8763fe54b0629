/**
 * graphql-ws fan-out of shared subscriptions (speed issue 16): ONE source per (operation text, operation name,
 * variables) — so per run and selection — instead of an async iterator, envelop pipeline and bus queue per subscriber.
 * Each result of that source is serialised once; each subscriber's `next` message is framed (RFC 6455 header + its own
 * `{"id":…,"type":"next","payload":` prefix + the shared payload + `}`: the bytes graphql-ws would send) and written
 * synchronously to its socket, in one loop per result that yields to the event loop every WRITES_PER_TURN writes.
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
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import { AppError } from '../domain/errors.js';
import { MASKED_MESSAGE, isGraphQLError, toGraphQLError } from './graphql-errors.js';
import { sharedEventSeq } from './shared-subscriptions.js';

/** Writes per event-loop turn (~10–30 µs each): `health` and other requests are answered between slices. */
const WRITES_PER_TURN = 100;
/** `}` closing a `next` message after its payload. */
const MESSAGE_END = 0x7d;

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

/** RFC 6455 frame of one unmasked text message: header, prefix, payload, `}`, in one buffer (one write). */
function frame(prefix: Buffer, payload: Buffer): Buffer {
  const length = prefix.length + payload.length + 1;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const bytes = Buffer.allocUnsafe(header + length);
  bytes[0] = 0x81; // FIN, text
  if (header === 2) bytes[1] = length;
  else if (header === 4) {
    bytes[1] = 126;
    bytes.writeUInt16BE(length, 2);
  } else {
    bytes[1] = 127;
    bytes.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    bytes.writeUInt32BE(length >>> 0, 6);
  }
  prefix.copy(bytes, header);
  payload.copy(bytes, header + prefix.length);
  bytes[header + length - 1] = MESSAGE_END;
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
          await this.deliver();
        }
      }
    } catch (error) {
      this.failure = error;
    }
    this.ended = true;
    this.onAttached();
    this.onEmpty();
    for (const member of this.members) this.finishIfDone(member);
  }

  private append(result: ExecutionResult): void {
    const payload = this.options.serialise(result);
    const total = (this.log.at(-1)?.total ?? this.baseTotal) + payload.length;
    this.log.push({ seq: sharedEventSeq(result), payload, total });
  }

  /** Writes the new entry to every subscriber that is caught up, WRITES_PER_TURN per turn, then trims the log. */
  private async deliver(): Promise<void> {
    let writes = 0;
    // A Set's iteration sees members that join or leave during the yields.
    for (const member of this.members) {
      if (!member.live || member.finished) continue;
      if (member.waiting) {
        this.checkOwed(member);
        continue;
      }
      writes += this.flush(member);
      if (writes >= WRITES_PER_TURN) {
        writes = 0;
        await yieldTurn();
      }
    }
    this.trim();
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

  /** Writes what the member is owed until its socket buffers; returns the writes done. */
  private flush(member: Member): number {
    let writes = 0;
    while (member.cursor < this.end && !member.waiting) {
      const entry = this.log[member.cursor - this.base];
      member.cursor++;
      if (entry.seq !== undefined && entry.seq <= member.after) continue;
      if (!this.write(member, entry.payload)) break;
      writes++;
    }
    return writes;
  }

  /** One `next` message; false when the socket is no longer open (graphql-ws ends the operation on close). */
  private write(member: Member, payload: Buffer): boolean {
    if (member.ws.readyState !== member.ws.OPEN || !member.socket.writable) {
      member.cursor = this.end;
      return false;
    }
    // Past the socket's high-water mark (the kernel is not taking the bytes): this member waits for `drain`, its
    // further results stay in the shared log.
    if (!member.socket.write(frame(member.prefix, payload))) {
      member.waiting = true;
      member.socket.once('drain', member.onDrain);
    }
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
      if (!this.write(member, this.options.serialise(first.value))) return;
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
