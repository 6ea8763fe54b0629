/**
 * One context for HTTP, SSE and WebSocket operations (and REST, which runs GraphQL operations in-process):
 * the services, a request id and a logger bound to it.
 */
import type { Services } from '../services/container.js';
import type { Logger } from '../logger.js';

export interface GraphQLContext {
  services: Services;
  requestId: string;
  logger: Logger;
}
