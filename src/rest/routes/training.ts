/**
 * The original API's training routes: POST /training starts a run of the session's configuration, GET /training
 * polls its progress.
 */
import { notFound } from '../../domain/errors.js';
import type { RouteContext, RouteResult } from '../context.js';
import { sessionIdFrom } from '../fields.js';
import { LatestRunProgressQuery, StartTrainingMutation } from '../operations/index.js';
import { trainingStatusWords } from '../original.js';
import { progressView } from '../views.js';

export async function postTraining(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const { startTraining } = await ctx.execute(StartTrainingMutation, { id: sessionId });
  const view = progressView(sessionId, startTraining);
  return {
    status: 202,
    data: {
      ...view,
      training_started: true,
      initial_progress: view.progress,
      message: 'Training started',
      next: `Poll GET /training?session_id=${sessionId}, or subscribe to trainingProgress over GraphQL.`,
    },
  };
}

export async function getTraining(ctx: RouteContext): Promise<RouteResult> {
  const sessionId = sessionIdFrom(ctx);
  const { session } = await ctx.execute(LatestRunProgressQuery, { id: sessionId });
  if (!session) throw notFound('Session', sessionId);
  if (!session.latestRun) {
    return {
      data: {
        session_id: sessionId,
        run_id: null,
        status: 'NOT_STARTED',
        training_status: trainingStatusWords('NOT_STARTED'),
        stage: null,
        progress: 0,
        step: 0,
        total_steps: 0,
        message: 'No training yet: POST /training.',
      },
    };
  }
  return { data: progressView(sessionId, session.latestRun) };
}
