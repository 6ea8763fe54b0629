/// <reference lib="dom" />
/**
 * The dashboard's only way to the server: the public GraphQL API. Queries and mutations are POSTed to /graphql,
 * uploads use the multipart request spec, and trainingProgress streams over graphql-ws on the same path.
 */
import { createClient, type Client } from 'graphql-ws';
import type { TadaDocumentNode } from '../../client/graphql.js';
import { documentText } from '../documents.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly code: string | null,
    readonly field: string | null,
  ) {
    super(message);
  }
}

interface GraphQLResponse {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

function resultOf<Result>(_document: TadaDocumentNode<Result, never>, body: GraphQLResponse): Result {
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? null, error.extensions?.field ?? null);
  if (body.data === undefined || body.data === null) throw new ApiError('The server sent no data.', null, null);
  // The server executed this document against the schema its types were generated from.
  return body.data as Result;
}

async function readBody(response: Response): Promise<GraphQLResponse> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) throw new ApiError(`The server answered ${response.status} without JSON.`, null, null);
  return (await response.json()) as GraphQLResponse;
}

/** Runs a typed query or mutation. */
export async function request<Result, Variables>(
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query: documentText(document), variables }),
  });
  return resultOf(document, await readBody(response));
}

/** A mutation with one File variable, sent with the GraphQL multipart request spec. */
export async function upload<Result, Variables>(
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
  fileVariable: string,
  file: File,
): Promise<Result> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: documentText(document), variables }));
  form.append('map', JSON.stringify({ 0: [`variables.${fileVariable}`] }));
  form.append('0', file, file.name);
  // The header yoga's CSRF prevention asks of multipart requests.
  const response = await fetch('/graphql', { method: 'POST', headers: { 'graphql-preflight': '1' }, body: form });
  return resultOf(document, await readBody(response));
}

let client: Client | null = null;
const connectedListeners = new Set<() => void>();

/** The page's one graphql-ws connection: retried forever with backoff; every (re)connect is announced. */
export function wsClient(): Client {
  client ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    on: {
      connected: () => {
        for (const listener of connectedListeners) listener();
      },
    },
  });
  return client;
}

export function onConnected(listener: () => void): () => void {
  connectedListeners.add(listener);
  return () => connectedListeners.delete(listener);
}

export interface Subscription {
  dispose(): void;
}

/** Subscribes to a typed subscription; `next` gets each event's data. */
export function subscribe<Result, Variables extends Record<string, unknown>>(
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
  handlers: { next: (data: Result) => void; error: (error: ApiError) => void; complete: () => void },
): Subscription {
  const dispose = wsClient().subscribe(
    { query: documentText(document), variables },
    {
      next: (value) => {
        try {
          handlers.next(resultOf(document, value as GraphQLResponse));
        } catch (error) {
          handlers.error(error instanceof ApiError ? error : new ApiError(String(error), null, null));
        }
      },
      error: (error: unknown) => {
        const message = Array.isArray(error)
          ? String((error as { message?: string }[])[0]?.message)
          : error instanceof Error
            ? error.message
            : 'The live connection failed.';
        handlers.error(new ApiError(message, null, null));
      },
      complete: handlers.complete,
    },
  );
  return { dispose };
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.field ? `${error.message} (${error.field})` : error.message;
  return error instanceof Error ? error.message : String(error);
}
