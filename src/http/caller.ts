/**
 * The caller of a GraphQL operation, resolved once per HTTP request, WebSocket connection or REST request (the one
 * context factory calls `callerOf`), and the minted owner token handed back: `x-owner-token` and Set-Cookie on the
 * HTTP response, `extensions.ownerToken` in the operation's result (HTTP, SSE, WebSocket and REST alike).
 */
import { IncomingMessage } from 'node:http';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Caller, type OwnerService } from '../services/owners.js';
import { appErrorOf, toGraphQLError } from './graphql-errors.js';
import { callerInputOf, type GraphQLContext } from './context.js';

/** What yoga's context factory is handed: the server context (REST's caller, the Node request, graphql-ws's). */
export interface CallerSource {
  caller?: unknown;
  req?: unknown;
  connectionParams?: unknown;
}

/** One caller per Node request (an HTTP request, or a WebSocket connection's upgrade request). */
const callers = new WeakMap<IncomingMessage, Caller>();

/** graphql-ws connection_init `{ authorization: "Bearer …" }`, which wins over the upgrade request's headers. */
function connectionAuthorization(params: unknown): string | null {
  if (typeof params !== 'object' || params === null || !('authorization' in params)) return null;
  const { authorization } = params;
  return typeof authorization === 'string' ? authorization : null;
}

/**
 * The request's caller. A token that does not verify is a GraphQL error with code UNAUTHENTICATED (HTTP 401),
 * answered before anything runs.
 */
export function callerOf(owners: OwnerService, source: CallerSource): Caller {
  if (source.caller instanceof Caller) return source.caller;
  const { req } = source;
  if (!(req instanceof IncomingMessage)) return Caller.server();
  const known = callers.get(req);
  if (known) return known;
  try {
    const caller = owners.resolve(callerInputOf(req, connectionAuthorization(source.connectionParams)));
    callers.set(req, caller);
    return caller;
  } catch (error) {
    const coded = appErrorOf(error);
    throw coded ? toGraphQLError(coded) : error;
  }
}

/** Hands a token minted during an operation back to the client (see the module comment). */
export function useOwnerToken(owners: OwnerService): Plugin<GraphQLContext> {
  return {
    onExecute: ({ args }) => {
      const { caller } = args.contextValue;
      const before = caller.minted;
      return {
        onExecuteDone: ({ result, setResult }) => {
          const minted = caller.minted;
          if (!minted || minted === before || isAsyncIterable(result)) return;
          setResult({ ...result, extensions: { ...result.extensions, ownerToken: minted.token } });
        },
      };
    },
    onResponse: ({ serverContext, response }) => {
      const { req } = serverContext as CallerSource;
      if (!(req instanceof IncomingMessage)) return;
      for (const [name, value] of Object.entries(ownerResponseHeaders(owners, req))) response.headers.set(name, value);
    },
  };
}

/** The owner headers of an HTTP request's response (a minted token, a renewed cookie); none if no caller was made. */
export function ownerResponseHeaders(owners: OwnerService, req: IncomingMessage): Record<string, string> {
  const caller = callers.get(req);
  return caller ? owners.responseHeaders(caller) : {};
}
