/**
 * Runs a GraphQL operation in-process through the same yoga pipeline as /graphql (context, validation, masking),
 * and turns GraphQL errors into HTTP errors of the REST envelope.
 */
import type { Yoga } from '../http/graphql-app.js';
import { GRAPHQL_PATH } from '../http/graphql-app.js';
import { HTTP_STATUS, RETRY_AFTER_SECONDS, type ErrorCode } from '../errors.js';
import { HttpError } from './http.js';

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

export class RestGraphQLError extends HttpError {
  constructor(status: number, code: string, message: string, field?: string) {
    super(
      status,
      code,
      message,
      code === 'SERVICE_UNAVAILABLE' ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {},
      field,
    );
  }
}

/** Yoga's own codes, in the words of the REST envelope (an upload over MAX_UPLOAD_MB fails inside yoga's parser). */
const YOGA_CODES: Record<string, ErrorCode> = { REQUEST_ENTITY_TOO_LARGE: 'PAYLOAD_TOO_LARGE' };

function statusOf(code: string): number {
  if (code in HTTP_STATUS) return HTTP_STATUS[code as ErrorCode];
  if (code === 'GRAPHQL_VALIDATION_FAILED' || code === 'BAD_REQUEST' || code === 'GRAPHQL_PARSE_FAILED') return 400;
  return 500;
}

export type GraphQLRunner = <T>(
  query: string,
  variables?: Record<string, unknown>,
  file?: { name: string; blob: Blob; variable: string },
) => Promise<T>;

export function graphQLRunner(yoga: Yoga, requestId: string): GraphQLRunner {
  return async <T>(
    query: string,
    variables: Record<string, unknown> = {},
    file?: { name: string; blob: Blob; variable: string },
  ): Promise<T> => {
    const headers: Record<string, string> = {
      'x-request-id': requestId,
      'graphql-preflight': '1',
      accept: 'application/graphql-response+json, application/json',
    };
    let body: string | FormData;
    if (file) {
      const form = new FormData();
      form.set('operations', JSON.stringify({ query, variables: { ...variables, [file.variable]: null } }));
      form.set('map', JSON.stringify({ 0: [`variables.${file.variable}`] }));
      form.set('0', file.blob, file.name);
      body = form;
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ query, variables });
    }
    const response = await yoga.fetch(`http://localhost${GRAPHQL_PATH}`, { method: 'POST', headers, body });
    const result = (await response.json()) as GraphQLResponse<T>;
    const error = result.errors?.[0];
    if (error) {
      const raw = error.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
      const code = YOGA_CODES[raw] ?? raw;
      throw new RestGraphQLError(statusOf(code), code, error.message, error.extensions?.field);
    }
    if (!result.data) throw new RestGraphQLError(500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
    return result.data;
  };
}
