/**
 * graphql-yoga instance: schema, context factory, error masking with logging, security plugins.
 * The same envelop pipeline serves HTTP, SSE, WebSocket (via getEnveloped) and in-process REST operations.
 */
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { createFetch } from '@whatwg-node/fetch';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { schema } from '../schema/index.js';
import type { Services } from '../services/container.js';
import type { Logger } from '../logger.js';
import type { AppConfig } from '../config.js';
import type { GraphQLContext } from './context.js';
import { useListCostLimit } from './list-cost.js';
import { useStreamedMultipart } from './multipart-graphql.js';
import { GRAPHIQL_OPTIONS, renderOfflineGraphiQL } from './graphiql.js';
import { createErrorMasking, useUnexpectedErrorLogging } from './graphql-errors.js';
import {
  rejectQueryLimit,
  useParseDepthGuard,
  useReasonForAbortedValidation,
  useRequestParseErrors,
} from './request-errors.js';
import type { IncomingMessage } from 'node:http';
import { REQUEST_ID_HEADER, requestIdOfHeaders } from './request-id.js';
import { useSharedSubscriptionExecution } from './shared-subscriptions.js';
import { callerOf, useOwnerToken, type CallerSource } from './caller.js';
import { useIntrospectionSwitch } from './introspection.js';
import { API_KEY_HEADER, OWNER_TOKEN_HEADER } from '../services/owners.js';

export type ServerContext = Record<string, unknown>;
export type Yoga = YogaServerInstance<ServerContext, GraphQLContext>;

export const GRAPHQL_PATH = '/graphql';

/**
 * The Fetch request an operation run outside yoga's HTTP handler (graphql-ws, src/http/direct-graphql.ts) hands
 * yoga's context factory: the request id the edge assigned, as a POST (yoga refuses mutations in a GET request).
 */
export function fetchRequestFor(yoga: Yoga, req: IncomingMessage): Request {
  return new yoga.fetchAPI.Request(`http://localhost${GRAPHQL_PATH}`, {
    method: 'POST',
    headers: { [REQUEST_ID_HEADER]: String(req.headers[REQUEST_ID_HEADER]) },
  });
}

/** graphql-armor's limits throw at the first excess (validation stops there) with our code and words. */
const armor = { propagateOnRejection: false, onReject: [rejectQueryLimit] };

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
    // Served whole from this server (no CDN), opening on the README workflow; see src/http/graphiql.ts. GRAPHIQL=off
    // (production deployments may want it) answers GET /graphql as any GraphQL-over-HTTP GET.
    graphiql: config.graphiql ? GRAPHIQL_OPTIONS : false,
    renderGraphiQL: renderOfflineGraphiQL,
    cors: (request) => {
      const origin = corsOrigin(request.headers.get('origin'));
      return origin
        ? {
            origin,
            credentials: true,
            methods: ['GET', 'POST', 'OPTIONS'],
            allowedHeaders: [
              'content-type',
              'x-request-id',
              'graphql-preflight',
              'apollo-require-preflight',
              'authorization',
              API_KEY_HEADER,
            ],
            exposedHeaders: [OWNER_TOKEN_HEADER],
          }
        : false; // not `{ origin: [] }`: yoga reads an empty list as "allow every origin".
    },
    // The server context carries the Node request (HTTP, and the upgrade request over WebSocket with graphql-ws's
    // connectionParams) or, for REST in-process operations, the caller REST resolved (src/http/caller.ts).
    context: (initial): GraphQLContext => {
      const requestId = requestIdOfHeaders(initial.request.headers);
      const caller = callerOf(services.owners, initial as CallerSource);
      return { services, requestId, logger: logger.child({ requestId }), caller };
    },
    maskedErrors: {
      maskError: createErrorMasking({
        maxUploadBytes: config.maxUploadBytes,
        development: config.nodeEnv === 'development',
        logger,
      }),
    },
    plugins: [
      // Multipart requests (uploads) must carry a preflight header, so a plain HTML form cannot post them cross-site.
      useCSRFPrevention({ requestHeaders: ['graphql-preflight', 'apollo-require-preflight', 'x-requested-with'] }),
      // Multipart requests read as they arrive: an upload is parsed while it is sent (before useRequestParseErrors,
      // which wraps the parser set here).
      useStreamedMultipart({ fileSize: config.maxUploadBytes, files: 1, fields: 10 }),
      // Our schema has no cycles, so only introspection can go deep; 24 leaves room for GraphiQL's introspection query (21).
      maxDepthPlugin({ n: 24, ignoreIntrospection: false, ...armor }),
      maxAliasesPlugin({ n: 30, ...armor }),
      costLimitPlugin({ maxCost: 20_000, ...armor }),
      // armor's cost ignores list sizes; this one multiplies by page sizes (datasets, previewRows).
      useListCostLimit(),
      useParseDepthGuard(),
      useReasonForAbortedValidation(),
      useRequestParseErrors(),
      useUnexpectedErrorLogging(),
      // One execution per event for the many subscribers of a run (WebSocket and SSE alike).
      useSharedSubscriptionExecution(),
      useOwnerToken(services.owners),
      ...(config.introspection ? [] : [useIntrospectionSwitch()]),
    ],
  });
}
