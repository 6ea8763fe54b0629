/**
 * graphql-yoga instance: schema, context factory, error masking with logging, security plugins.
 * The same envelop pipeline serves HTTP, SSE, WebSocket (via getEnveloped) and in-process REST operations.
 */
import { randomUUID } from 'node:crypto';
import { createYoga, maskError as defaultMaskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { createFetch } from '@whatwg-node/fetch';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { GraphQLError } from 'graphql';
import { schema } from '../schema/index.js';
import type { GraphQLContext } from './context.js';
import type { Services } from '../services/container.js';
import type { Logger } from '../logger.js';
import type { AppConfig } from '../config.js';
import { appError, databaseBusy, isDatabaseBusy, toAppError } from '../errors.js';
import { GRAPHIQL_OPTIONS, renderOfflineGraphiQL } from './graphiql.js';

export type ServerContext = Record<string, unknown>;
export type Yoga = YogaServerInstance<ServerContext, GraphQLContext>;

export const GRAPHQL_PATH = '/graphql';
export const MASKED_MESSAGE = 'Unexpected error.';

/** By name, not instanceof: graphql-js may be loaded twice (ESM and CJS builds) and then classes differ. */
const isGraphQLError = (value: unknown): value is GraphQLError =>
  value instanceof GraphQLError || (value instanceof Error && value.name === 'GraphQLError');

const REQUEST_ID_PATTERN = /^[\w.-]{1,64}$/;

export function requestIdFrom(headerValue: string | null | undefined): string {
  return headerValue && REQUEST_ID_PATTERN.test(headerValue) ? headerValue : randomUUID();
}

/** Errors that are neither GraphQL errors nor coded errors of the pure layers are bugs: log them with the request id. */
function useUnexpectedErrorLogging(): Plugin<GraphQLContext> {
  const report = (errors: readonly GraphQLError[] | undefined, context: GraphQLContext) => {
    for (const error of errors ?? []) {
      const original = error.originalError;
      if (original && !isGraphQLError(original) && !toAppError(original)) {
        context.logger.error('unexpected error in a resolver', { err: original, path: error.path?.join('.') });
      }
    }
  };
  return {
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result }) => {
        if ('errors' in result) report(result.errors, args.contextValue);
      },
    }),
    onSubscribe: ({ args }) => ({
      onSubscribeResult: () => ({
        onNext: ({ result }) => {
          report(result.errors, args.contextValue);
        },
      }),
      onSubscribeError: ({ error }) => {
        if (error instanceof Error && !isGraphQLError(error))
          args.contextValue.logger.error('subscription failed', { err: error });
      },
    }),
  };
}

export function createGraphQLApp(
  config: AppConfig,
  services: Services,
  logger: Logger,
  corsOrigin: (origin: string | null) => string | null,
): Yoga {
  const fetchAPI = createFetch({ formDataLimits: { fileSize: config.maxUploadBytes, files: 1, fields: 10 } });
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    fetchAPI,
    // yoga's own body limit (25 MB by default) must not undercut MAX_UPLOAD_MB; the multipart overhead gets 1 MB.
    maxRequestBodySize: config.maxUploadBytes + 1024 * 1024,
    landingPage: false,
    logging: false,
    // Served whole from this server (no CDN), opening on the README workflow; see src/http/graphiql.ts.
    graphiql: GRAPHIQL_OPTIONS,
    renderGraphiQL: renderOfflineGraphiQL,
    cors: (request) => {
      const origin = corsOrigin(request.headers.get('origin'));
      return origin
        ? {
            origin,
            credentials: true,
            methods: ['GET', 'POST', 'OPTIONS'],
            allowedHeaders: ['content-type', 'x-request-id', 'graphql-preflight', 'apollo-require-preflight'],
          }
        : false; // not `{ origin: [] }`: yoga reads an empty list as "allow every origin".
    },
    context: ({ request }): GraphQLContext => {
      const requestId = requestIdFrom(request.headers.get('x-request-id'));
      return { services, requestId, logger: logger.child({ requestId }) };
    },
    maskedErrors: {
      maskError: (error, message, isDev) => {
        const original = isGraphQLError(error) ? error.originalError : error;
        const coded = original && !isGraphQLError(original) ? toAppError(original) : null;
        if (coded) return coded;
        // Expected under an outside write lock: 503 with Retry-After, not a masked 500.
        if (original && isDatabaseBusy(original)) return databaseBusy();
        // yoga's own multipart limit (formDataLimits) speaks of REQUEST_ENTITY_TOO_LARGE; clients rely on our code.
        if (isGraphQLError(error) && error.extensions?.code === 'REQUEST_ENTITY_TOO_LARGE') {
          return appError(
            'PAYLOAD_TOO_LARGE',
            `The file is larger than the limit of ${config.maxUploadBytes / 1024 / 1024} MB (MAX_UPLOAD_MB).`,
            { field: 'file' },
          );
        }
        const masked = defaultMaskError(error, MASKED_MESSAGE, isDev && config.nodeEnv === 'development');
        // Resolver errors (with a path) are logged with their request id by useUnexpectedErrorLogging.
        if (masked !== error && !(isGraphQLError(error) && error.path))
          logger.error('unexpected error', { err: original ?? error });
        return masked;
      },
    },
    plugins: [
      // Multipart requests (uploads) must carry a preflight header, so a plain HTML form cannot post them cross-site.
      useCSRFPrevention({ requestHeaders: ['graphql-preflight', 'apollo-require-preflight', 'x-requested-with'] }),
      // Our schema has no cycles, so only introspection can go deep; 24 leaves room for GraphiQL's introspection query (21).
      maxDepthPlugin({ n: 24, ignoreIntrospection: false }),
      maxAliasesPlugin({ n: 30 }),
      costLimitPlugin({ maxCost: 20_000 }),
      useUnexpectedErrorLogging(),
    ],
  });
}
