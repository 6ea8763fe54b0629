/**
 * The plain JSON POST of a query or mutation, answered through yoga's envelop pipeline without yoga's Fetch layer
 * (speed issue 16 goal 6). bench:predict-profile put half the event loop's CPU of a single-row `predict` in
 * @whatwg-node's Request/Response/Headers, its promise helpers and yoga's request and result processing; the
 * operation itself (parse and validate cached, context, execution, the envelop plugins, error masking) is the same
 * `yoga.getEnveloped` call graphql-ws makes (src/http/websocket.ts).
 *
 * Only the common case is taken; anything else returns false before execution and yoga answers it from the same
 * pre-parsed body: a browser request (an Origin header: CORS), an Accept header yoga would not answer with JSON, a body
 * yoga would refuse or read differently, a document that does not parse or validate, a subscription, a caller that
 * cannot be resolved (a bad token). Once executed, a result with errors is written by yoga's own result processor, so
 * statuses and error shapes stay yoga's; a clean result is written as yoga writes it (JSON.stringify, 200).
 */
import type http from 'node:http';
import {
  GraphQLError,
  OperationTypeNode,
  getOperationAST,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { isAsyncIterable, processRegularResult } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { OwnerService } from '../services/owners.js';
import { fetchRequestFor, type Yoga } from './graphql-app.js';
import { ownerResponseHeaders } from './caller.js';
import { MASKED_MESSAGE } from './graphql-errors.js';

/** The GraphQL-over-HTTP body keys yoga takes (anything else non-null it refuses with 400). */
const PARAM_KEYS: ReadonlySet<string> = new Set(['query', 'variables', 'operationName', 'extensions']);

/** envelop types the engine loosely (`any`); these are graphql-js's functions, typed once (as websocket.ts does). */
interface Enveloped {
  schema: GraphQLSchema;
  parse: (source: string) => DocumentNode;
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  contextFactory: () => unknown;
  execute: (args: ExecutionArgs) => ExecutionResult | AsyncIterable<ExecutionResult> | Promise<ExecutionResult>;
}

interface Params {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The body as yoga's params when yoga would take it as they are, else null. */
function paramsOf(body: unknown): Params | null {
  if (!isPlainObject(body)) return null;
  for (const key in body) if (body[key] != null && !PARAM_KEYS.has(key)) return null;
  const { query, variables, operationName, extensions } = body;
  if (typeof query !== 'string') return null;
  if (variables != null && !isPlainObject(variables)) return null;
  if (operationName != null && typeof operationName !== 'string') return null;
  if (extensions != null && !isPlainObject(extensions)) return null;
  return {
    query,
    variables: variables ?? undefined,
    operationName: operationName ?? undefined,
    extensions: extensions ?? undefined,
  };
}

/** The media types of yoga's result processor for single results, in its order. */
const REGULAR_TYPES = ['application/graphql-response+json', 'application/json'] as const;

/**
 * The media type yoga's result processors would answer a single result with, by yoga's own reading of Accept
 * (graphql-yoga's use-result-processor.ts and accept.ts: types without a non-UTF-8 charset, read in reverse, the last
 * match wins; no header is `*∕*`); null when its regular processor would not answer (yoga then says 406 itself).
 * Memoised by header (bench:predict-profile: ~2 µs of a ~100 µs request).
 */
export function acceptedType(accept: string | undefined): (typeof REGULAR_TYPES)[number] | null {
  const key = accept ?? '';
  const known = acceptedTypes.get(key);
  if (known !== undefined) return known;
  const type = readAccept(accept);
  // Clients send a handful of Accept headers; a client that varies them only costs a re-read after the clear.
  if (acceptedTypes.size >= MEMO_ENTRIES) acceptedTypes.clear();
  acceptedTypes.set(key, type);
  return type;
}

/** Small per-string memos of this path (Accept headers, validated documents), cleared whole when full. */
const MEMO_ENTRIES = 256;
const acceptedTypes = new Map<string, (typeof REGULAR_TYPES)[number] | null>();

function readAccept(accept: string | undefined): (typeof REGULAR_TYPES)[number] | null {
  const asked = (accept || '*/*')
    .replace(/\s/g, '')
    .toLowerCase()
    .split(',')
    .filter((entry) => {
      const charset = entry.split(';').find((param) => param.includes('charset='));
      return charset === undefined || charset === 'charset=utf-8';
    })
    .map((entry) => entry.split(';')[0])
    .reverse();
  let chosen: (typeof REGULAR_TYPES)[number] | null = null;
  for (const type of asked) {
    const [pre, suf] = type.split('/');
    for (const regular of REGULAR_TYPES) {
      const [regularPre, regularSuf] = regular.split('/');
      if ((pre === '*' || pre === regularPre) && (suf === '*' || suf === regularSuf)) chosen = regular;
    }
  }
  return chosen;
}

/** JSON POSTs to /graphql answered here and left to yoga (tests and bench:predict-profile read them). */
export interface GraphQLHttpRoutes {
  direct: number;
  yoga: number;
  /** Direct answers whose document came from the memo of validated documents (parse and validate skipped). */
  reusedDocuments: number;
}

export interface DirectGraphQL {
  /** Answers `body` (the parsed JSON of req) here, or returns false, having written nothing, for yoga to answer. */
  answer(req: http.IncomingMessage, res: http.ServerResponse, body: unknown): Promise<boolean>;
  readonly routes: GraphQLHttpRoutes;
}

/** Queries longer than this are parsed and validated each time rather than kept (a memo entry holds the text). */
const MEMO_QUERY_CHARS = 8192;

export function createDirectGraphQL(yoga: Yoga, owners: OwnerService, logger: Logger): DirectGraphQL {
  const routes: GraphQLHttpRoutes = { direct: 0, yoga: 0, reusedDocuments: 0 };
  /**
   * Documents that parsed and validated, by query text. Validation depends only on the document and the schema (one
   * per server), and every parse and validate hook of this pipeline acts on failures only (request-errors.ts, yoga's
   * caches, graphql-armor's limits), so a document that passed once passes again the same way: a repeated query skips
   * both envelop calls (~4.5 µs of a ~100 µs predict). Only successes are kept: a refused document always goes to yoga.
   */
  const validDocuments = new Map<string, DocumentNode>();
  const parseAndValidate = (enveloped: Enveloped, query: string): DocumentNode | null => {
    const document = enveloped.parse(query);
    if (enveloped.validate(enveloped.schema, document).length > 0) return null;
    if (query.length <= MEMO_QUERY_CHARS) {
      if (validDocuments.size >= MEMO_ENTRIES) validDocuments.clear();
      validDocuments.set(query, document);
    }
    return document;
  };
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse, body: unknown): Promise<boolean> => {
    const answered = await answerHere(req, res, body);
    if (answered) routes.direct++;
    else routes.yoga++;
    return answered;
  };
  const answerHere = async (req: http.IncomingMessage, res: http.ServerResponse, body: unknown): Promise<boolean> => {
    if (req.headers.origin !== undefined) return false;
    const mediaType = acceptedType(req.headers.accept);
    const params = mediaType === null ? null : paramsOf(body);
    if (mediaType === null || params === null) return false;
    const enveloped: Enveloped = yoga.getEnveloped({ req, res, request: fetchRequestFor(yoga, req), params });
    let args: ExecutionArgs;
    try {
      const { schema } = enveloped;
      let document = validDocuments.get(params.query);
      if (document) routes.reusedDocuments++;
      else document = parseAndValidate(enveloped, params.query) ?? undefined;
      if (!document) return false;
      const operation = getOperationAST(document, params.operationName);
      if (!operation || operation.operation === OperationTypeNode.SUBSCRIPTION) return false;
      args = {
        schema,
        document,
        variableValues: params.variables,
        operationName: params.operationName,
        contextValue: await enveloped.contextFactory(),
      };
    } catch {
      // A syntax error, a limit refused at validation, an owner token that does not verify: yoga answers them.
      return false;
    }
    let result: ExecutionResult | AsyncIterable<ExecutionResult>;
    try {
      result = await enveloped.execute(args);
    } catch (error) {
      // graphql's executor answers errors in the result; a throw is a bug, masked as yoga masks it.
      logger.error('unexpected error executing a GraphQL operation', { err: error });
      result = { errors: [new GraphQLError(MASKED_MESSAGE, { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
    }
    for (const [name, value] of Object.entries(ownerResponseHeaders(owners, req))) res.setHeader(name, value);
    if (isAsyncIterable(result) || result.errors?.length || result.extensions?.http) {
      const response = processRegularResult(result, yoga.fetchAPI, mediaType);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const text = await response.text();
      headers['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(response.status, headers);
      res.end(text);
      return true;
    }
    const json = JSON.stringify(result);
    res.writeHead(200, {
      'content-type': `${mediaType}; charset=utf-8`,
      'content-length': Buffer.byteLength(json),
    });
    res.end(json);
    return true;
  };
  return { answer, routes };
}
