/**
 * A file of a multipart request whose bytes are still arriving (src/http/multipart-stream.ts): what the GraphQL
 * `File` scalar and REST hand to the services instead of a file read whole, so an upload is parsed while it is
 * received (issue 17 goal 2). Read it once, with `fileChunks`; `arrayBuffer`/`bytes`/`text` wait for all of it (the
 * services that want a file whole: batch predictions). `size` is what has arrived so far.
 */
import { concatBytes } from './bytes.js';

export class ArrivingFile extends File {
  private read = false;
  private received = 0;

  constructor(
    private readonly source: AsyncIterable<Uint8Array>,
    name: string,
    type: string,
  ) {
    super([], name, { type });
    // Blob's `size` is a prototype getter reading its own (empty) bytes: this one counts what has arrived.
    Object.defineProperty(this, 'size', { get: () => this.received });
  }

  /** The bytes as they arrive (once): the file's end waits for the request's end, and its errors are the request's. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    if (this.read) throw new Error('An arriving file is read once.');
    this.read = true;
    for await (const chunk of this.source) {
      this.received += chunk.byteLength;
      yield chunk;
    }
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const parts: Uint8Array[] = [];
    for await (const chunk of this.chunks()) parts.push(chunk);
    return concatBytes(parts);
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  override async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const chunks = this.chunks();
    return new ReadableStream({
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(new Uint8Array(next.value));
      },
    });
  }
}

/** A file's bytes as they come: an arriving file's own chunks (no web-stream layer), any other file's stream. */
export function fileChunks(file: File): AsyncIterable<Uint8Array> {
  return file instanceof ArrivingFile ? file.chunks() : (file.stream() as unknown as AsyncIterable<Uint8Array>);
}
