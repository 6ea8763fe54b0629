/**
 * GET /api/ready: readiness for a load balancer or an orchestrator. 200 while the database, Redis (REDIS_URL) and the
 * training queue answer; 503 naming the dependency that does not (the process itself may be alive: /api/health).
 */
import { graphql } from '../../client/graphql.js';
import type { RouteContext, RouteResult } from '../context.js';

export const ReadyQuery = graphql(`
  query RestReady {
    health {
      ready
      queue
      workers
      queuedRuns
      runningRuns
      dependencies {
        name
        ok
        detail
        latencyMs
      }
    }
  }
`);

export async function getReady(ctx: RouteContext): Promise<RouteResult> {
  const { health } = await ctx.execute(ReadyQuery, {});
  const failing = health.dependencies.filter((dependency) => !dependency.ok).map((dependency) => dependency.name);
  return {
    status: health.ready ? 200 : 503,
    data: { ...health, failing },
    top: {
      status: health.ready ? 'ready' : 'not ready',
      ...(health.ready ? {} : { error: `Not ready: ${failing.join(', ')} not answering` }),
    },
  };
}
