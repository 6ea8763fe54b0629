/**
 * A multipart request read as it arrives (issue 17 goal 2), for the two upload edges: /graphql's multipart requests
 * (src/http/multipart-graphql.ts) and REST's POST /api/upload(-csv) (src/rest/routes/uploads.ts). busboy parses the
 * Node request itself; the form is handed over as soon as its file part begins, the file as an `ArrivingFile` whose
 * chunks are the request's bytes as they come (pulled: a reader that falls behind pauses the request). So the
 * upload thread parses the CSV while the client is still sending it, instead of after a whole-body read.
 *
 * The file's end waits for the end of the body: fields after the file are known by then (`complete`), a body cut
 * short fails the file, and `beforeEnd` may still refuse it (REST: a label sent after the file).
 */
import type { IncomingMessage } from 'node:http';
import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import { AppError, uploadTooLarge } from '../domain/errors.js';
import { ArrivingFile } from '../domain/arriving-file.js';

export interface MultipartLimits {
  /** MAX_UPLOAD_MB: a file over it fails with PAYLOAD_TOO_LARGE. */
  fileSize: number;
  files: number;
  fields: number;
}

export interface StreamedForm {
  /** The fields before the file part (all of them when there is no file). */
  fields: Map<string, string>;
  /** The file part (the first one, or the one named as asked), still arriving; null when the body has none. */
  file: { field: string; file: ArrivingFile } | null;
  /** Every field, once the body has been read to its end; rejects as the body fails. */
  complete: Promise<Map<string, string>>;
  /**
   * Runs once the body has ended, before the file reports its end: a rejection fails the file (its reader cleans
   * up as for any failed upload). Set before reading the file.
   */
  beforeEnd: ((fields: Map<string, string>) => Promise<void>) | null;
  /** Keeps the file's bytes as they are read, for a second reading (`kept`); set before reading the file. */
  keep: boolean;
  readonly kept: Uint8Array[];
  /**
   * The answer is sent: a file nobody read (the operation failed first) is thrown away and the rest of the body
   * drained, so the client is not left waiting to send it.
   */
  discard: () => void;
}

/** The parser's words for a limit, as the buffered reader (src/rest/http.ts) reports them. */
function limitError(what: string): AppError {
  return new AppError('BAD_REQUEST', `The multipart body has too many parts (${what} limit exceeded).`);
}

/**
 * Reads `req` (multipart/form-data) until its file part begins (`fileField`: that part, other files are skipped;
 * otherwise the first file), or to its end when it has none. Rejects with an AppError for a body that cannot be
 * parsed or breaks a limit before that point.
 */
export function readMultipartStream(
  req: IncomingMessage,
  limits: MultipartLimits,
  fileField?: string,
): Promise<StreamedForm> {
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string>();
    let form: StreamedForm | null = null;
    let failure: Error | null = null;
    let finished = false;
    let settle: { resolve: (fields: Map<string, string>) => void; reject: (error: Error) => void } | null = null;
    const complete = new Promise<Map<string, string>>((resolveAll, rejectAll) => {
      settle = { resolve: resolveAll, reject: rejectAll };
    });
    // Awaited by the file's end; a form without a file that fails later must not leave it unhandled.
    complete.catch(() => undefined);
    let current: BusboyFileStream | null = null;

    let busboy: ReturnType<typeof Busboy>;
    try {
      busboy = Busboy({
        headers: { ...req.headers, 'content-type': req.headers['content-type'] ?? '' },
        limits: { fileSize: limits.fileSize, files: limits.files, fields: limits.fields },
        defCharset: 'utf-8',
      });
    } catch {
      reject(new AppError('BAD_REQUEST', 'The multipart body could not be parsed.'));
      return;
    }

    const fail = (error: Error) => {
      if (failure) return;
      failure = error;
      req.unpipe(busboy);
      current?.destroy(error);
      settle?.reject(error);
      if (!form) reject(error);
      // The rest of the body is not read: let the client finish sending (or go) without holding the socket.
      req.resume();
    };
    const discard = () => {
      if (!finished) fail(new AppError('BAD_REQUEST', 'The request was answered before its body was read.'));
    };
    const finish = () => {
      if (finished || failure) return;
      finished = true;
      settle?.resolve(fields);
      if (!form) {
        form = { fields, file: null, complete, beforeEnd: null, keep: false, kept: [], discard };
        resolve(form);
      }
    };

    busboy.on('field', (name, value, nameTruncated, valueTruncated) => {
      if (nameTruncated || valueTruncated) {
        fail(new AppError('BAD_REQUEST', `The multipart field "${name.slice(0, 100)}" is too long.`));
        return;
      }
      fields.set(name, value); // the last of a name, as the whole-form reader keeps it
    });
    busboy.on('file', (name, stream, fileName, _encoding, mimeType) => {
      if (form || (fileField !== undefined && name !== fileField)) {
        stream.resume(); // not the file asked for: skipped
        return;
      }
      current = stream;
      // Its reader sees a failure through the iteration; a file nobody reads must not throw it at the process.
      stream.on('error', () => undefined);
      const arriving: StreamedForm = {
        fields: new Map(fields),
        file: null,
        complete,
        beforeEnd: null,
        keep: false,
        kept: [],
        discard,
      };
      async function* bytes(): AsyncGenerator<Uint8Array> {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (arriving.keep) arriving.kept.push(chunk);
          yield chunk;
        }
        if (stream.truncated) throw uploadTooLarge(limits.fileSize);
        if (failure) throw failure;
        const all = await complete;
        await arriving.beforeEnd?.(all);
      }
      arriving.file = { field: name, file: new ArrivingFile(bytes(), fileName, mimeType) };
      stream.once('limit', () => {
        fail(uploadTooLarge(limits.fileSize));
      });
      form = arriving;
      resolve(arriving);
    });
    busboy.on('filesLimit', () => {
      fail(limitError('files'));
    });
    busboy.on('fieldsLimit', () => {
      fail(limitError('fields'));
    });
    busboy.on('partsLimit', () => {
      fail(limitError('parts'));
    });
    busboy.on('error', () => {
      fail(new AppError('BAD_REQUEST', 'The multipart body could not be parsed.'));
    });
    busboy.on('finish', finish);
    // A client that goes away mid-body: the file fails, so the upload leaves nothing behind.
    req.once('close', () => {
      if (!req.complete) fail(new AppError('BAD_REQUEST', 'The request ended before its body was complete.'));
    });
    req.once('error', () => {
      fail(new AppError('BAD_REQUEST', 'The request ended before its body was complete.'));
    });
    req.pipe(busboy);
  });
}
