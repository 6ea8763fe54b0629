/**
 * The original API's training routes: POST /training starts a run of the session's configuration (or, with a
 * `search` object, a hyperparameter search: startSearch), GET /training polls the progress of the session's latest
 * run or search.
 */
import { badInput, notFound } from '../../domain/errors.js';
import type { VariablesOf } from '../../client/graphql.js';
import type { RouteContext, RouteResult } from '../context.js';
import { isRecord, sessionIdFrom } from '../fields.js';
import {
  LatestRunProgressQuery,
  LatestSearchQuery,
  StartSearchMutation,
  StartTrainingMutation,
} from '../operations/index.js';
import { trainingStatusWords } from '../original.js';
import { progressView, searchProgressView } from '../views.js';

type SearchInput = VariablesOf<typeof StartSearchMutation>['input'];

/** `search` of POST /training in the API's snake_case (camelCase accepted too) as SearchInput. */
function searchInputFrom(value: unknown): SearchInput {
  if (!isRecord(value)) throw badInput('"search" must be an object (model_types, strategy, scoring, …).', 'search');
  const pick = (snake: string, camel: string): unknown => value[snake] ?? value[camel];
  const modelTypes = pick('model_types', 'modelTypes');
  const types = typeof modelTypes === 'string' ? modelTypes.split(',').map((m) => m.trim()) : modelTypes;
  if (!Array.isArray(types) || !types.every((m): m is string => typeof m === 'string'))
    throw badInput(
      '"search.model_types" must be a list of model ids (or a comma-separated string).',
      'search.model_types',
    );
  const int = (snake: string, camel: string): number | undefined => {
    const v = pick(snake, camel);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw badInput(`"search.${snake}" must be an integer.`, `search.${snake}`);
    return v;
  };
  const word = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const v = value[name];
    if (v === undefined || v === null) return undefined;
    const found = allowed.find((a) => a === v);
    if (!found) throw badInput(`"search.${name}" must be one of ${allowed.join(', ')}.`, `search.${name}`, allowed);
    return found;
  };
  return {
    modelTypes: types,
    strategy: word('strategy', ['RANDOM', 'SUCCESSIVE_HALVING'] as const),
    scoring: word('scoring', ['CV_MACRO_F1', 'VALIDATION_MACRO_F1'] as const),
    cvFolds: int('cv_folds', 'cvFolds'),
    budgetSeconds: int('budget_seconds', 'budgetSeconds'),
    maxTrials: int('max_trials', 'maxTrials'),
    seed: int('seed', 'seed'),
    decisionTuning:
      word('decision_tuning', ['NONE', 'MACRO_F1'] as const) ?? word('decisionTuning', ['NONE', 'MACRO_F1'] as const),
    space: value.space,
  };
}

export async function postTraining(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  if (body.search !== undefined) {
    const { startSearch } = await ctx.execute(StartSearchMutation, {
      id: sessionId,
      input: searchInputFrom(body.search),
    });
    return {
      status: 202,
      data: {
        ...searchProgressView(sessionId, startSearch),
        training_started: true,
        initial_progress: 0,
        message: 'Search started',
        next: `Poll GET /training?session_id=${sessionId}, or subscribe to searchProgress(searchId: "${startSearch.id}") over GraphQL.`,
      },
    };
  }
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
  const { searches } = await ctx.execute(LatestSearchQuery, { id: sessionId });
  const search = searches.at(0);
  const run = session.latestRun;
  // A search newer than the latest run is what the session is doing; its best trial's refit is a run made after it.
  if (search && (!run || Date.parse(search.createdAt) > Date.parse(run.createdAt)))
    return { data: searchProgressView(sessionId, search) };
  if (!run) {
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
  const view = progressView(sessionId, run);
  return {
    data: search?.bestRun?.id === run.id ? { ...view, search: searchProgressView(sessionId, search) } : view,
  };
}
