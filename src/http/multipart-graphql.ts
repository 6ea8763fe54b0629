/**
 * /graphql's multipart requests (the GraphQL multipart request spec: `operations`, `map`, then the file) read as
 * they arrive (src/http/multipart-stream.ts) instead of by yoga's whole-body `formData()`: the operation runs as
 * soon as the file part begins, with the file as an `ArrivingFile`, so uploadDataset parses the CSV while the client
 * sends it. Same words as yoga's own parser for a bad `operations` or `map` (useRequestParseErrors gives them their
 * code), the same limits (one file within MAX_UPLOAD_MB, ten fields).
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import { readMultipartStream, type MultipartLimits } from './multipart-stream.js';

/** Sets `value` at a dotted path of `operations` (yoga's setObjectKeyPath: no prototype keys). */
function setAtPath(target: Record<string, unknown>, keyPath: string, value: unknown): void {
  const keys = keyPath.split('.');
  let current: Record<string, unknown> = target;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return;
    if (i === keys.length - 1) {
      current[key] = value;
      return;
    }
    const next = current[key];
    if (!Object.hasOwn(current, key) || typeof next !== 'object' || next === null) current[key] = {};
    current = current[key] as Record<string, unknown>;
  }
}

function parsedField(fields: Map<string, string>, name: string): unknown {
  const text = fields.get(name);
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    throw createGraphQLError(`Multipart form field "${name}" must be a valid JSON string`);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function useStreamedMultipart(limits: MultipartLimits): Plugin {
  return {
    onRequestParse: ({ request, serverContext, setRequestParser }) => {
      // The Node request and response of yoga's Node adapter (absent for requests made in-process).
      const req = 'req' in serverContext ? serverContext.req : null;
      const res = 'res' in serverContext ? serverContext.res : null;
      if (request.method !== 'POST' || !(req instanceof IncomingMessage) || !(res instanceof ServerResponse)) return;
      if (!(request.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) return;
      setRequestParser(async () => {
        const form = await readMultipartStream(req, limits);
        res.once('close', form.discard);
        if (!form.fields.has('operations')) throw createGraphQLError('Missing multipart form field "operations"');
        const operations = parsedField(form.fields, 'operations');
        const map = parsedField(form.fields, 'map');
        if (map !== undefined) {
          const files = isRecord(map) ? map : {};
          for (const [field, paths] of Object.entries(files)) {
            const file = form.file?.field === field ? form.file.file : null;
            if (!Array.isArray(paths) || !isRecord(operations)) continue;
            for (const keyPath of paths) if (typeof keyPath === 'string') setAtPath(operations, keyPath, file);
          }
        }
        // Batched operations (an array) as yoga takes them; yoga checks the params' shape itself.
        return operations as GraphQLParams | GraphQLParams[];
      });
    },
  };
}
