/**
 * Requests refused before execution, each with a status, a code and a reason: graphql-armor's query limits, a
 * validation that graphql-js gave up on, a body yoga cannot read as GraphQL, a content type it does not take.
 */
import type { Duplex } from 'node:stream';
import type { GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { isGraphQLError } from './graphql-errors.js';
import { isJsonContentType } from './json-body.js';

/**
 * GRAPHQL_VALIDATION_FAILED, as every other validation rule answers (status 400 under GraphQL over HTTP's
 * `application/graphql-response+json`, 200 under plain `application/json`, as the spec says): the depth, alias and
 * cost limits are validation rules about the document, not about an input value, so not BAD_USER_INPUT.
 */
const VALIDATION_FAILED = { code: 'GRAPHQL_VALIDATION_FAILED', http: { spec: true, status: 400 } };

/**
 * graphql-armor's `onReject`: its limits word themselves "Syntax Error: Aliases limit of 30 exceeded, found 40."
 * without a code. Thrown, so validation stops at the first excess as armor's own throw would.
 */
export function rejectQueryLimit(_context: unknown, error: GraphQLError): never {
  throw createGraphQLError(`${error.message.replace(/^Syntax Error: /, '')} Ask for less in one operation.`, {
    extensions: VALIDATION_FAILED,
  });
}

/**
 * graphql-js stops validating a document whose fields it would need too long to compare (`{ a a a … }`, many
 * overlapping selections) and says only "Validation aborted.": say why.
 */
export function useReasonForAbortedValidation(): Plugin {
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        const errors = result as readonly Error[];
        if (!errors.some((error) => error.message === 'Validation aborted.')) return;
        setResult(
          errors.map((error) =>
            error.message === 'Validation aborted.'
              ? createGraphQLError(
                  'The query is too large to validate: it repeats or overlaps the same fields too many times. Ask for each field once.',
                  { extensions: VALIDATION_FAILED },
                )
              : error,
          ),
        );
      },
  };
}

/**
 * graphql-js parses recursively: a value nested thousands of lists deep (`n_estimators: [[[…1…]]]`) overflows the
 * stack, which would be masked as a 500. It is a document too deep to read: yoga then answers it as a syntax error
 * (GRAPHQL_PARSE_FAILED, 400).
 */
export function useParseDepthGuard(): Plugin {
  return {
    onParse:
      () =>
      ({ result, replaceParseResult }) => {
        if (result instanceof RangeError)
          replaceParseResult(
            createGraphQLError(
              'The document is nested too deeply to read (lists or objects inside thousands of others).',
            ),
          );
      },
  };
}

/**
 * The request body, before GraphQL: a content type yoga has no parser for (XML, plain text) is a 415 with a JSON
 * body and a code instead of an empty one; a parser's own error without a code (a multipart `operations` or `map`
 * field that is not JSON) is a 400 BAD_REQUEST instead of a 200.
 */
export function useRequestParseErrors(): Plugin {
  return {
    onRequestParse: ({ request, requestParser, setRequestParser, endResponse, fetchAPI }) => {
      if (!requestParser) {
        const type = request.headers.get('content-type');
        const message = `${type ? `The content type ${type.slice(0, 100)} is` : 'A request without a content type is'} not accepted at ${new URL(request.url).pathname}: send application/json (or multipart/form-data with a file upload).`;
        endResponse(
          new fetchAPI.Response(
            JSON.stringify({ errors: [{ message, extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] }),
            {
              status: 415,
              headers: { 'content-type': 'application/json; charset=utf-8' },
            },
          ),
        );
        return;
      }
      // yoga's JSON parser codes its errors itself; its hot path keeps no extra step.
      if (isJsonContentType(request.headers.get('content-type') ?? undefined)) return;
      setRequestParser(async (parseRequest) => {
        try {
          return await requestParser(parseRequest);
        } catch (error) {
          if (!isGraphQLError(error) || error.extensions.code !== undefined) throw error;
          throw createGraphQLError(error.message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
        }
      });
    },
  };
}

/** What Node's HTTP parser refuses before any handler runs, answered with the REST envelope instead of a bare status. */
const PARSER_REFUSALS: Record<string, { status: number; reason: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    message: 'The request line and headers must stay under 16 KB: send long values in a POST body.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    message: 'The request was not received in time.',
  },
};

/**
 * The server's `clientError` handler: Node answers these with a bare status and no body (a 20,000-character URL
 * got an empty 431); say why, in the shape every other refusal has.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const refusal = PARSER_REFUSALS[error.code ?? ''] ?? {
    status: 400,
    reason: 'Bad Request',
    message: 'The request is not valid HTTP/1.1.',
  };
  const body = JSON.stringify({ status: 'error', code: 'BAD_REQUEST', message: refusal.message });
  socket.end(
    `HTTP/1.1 ${String(refusal.status)} ${refusal.reason}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `content-length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`,
  );
}
