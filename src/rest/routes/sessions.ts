/**
 * The original API's session routes: the select page (GET/POST /select) and /api/sessions/<id>. Each maps request
 * fields to variables of typed GraphQL operations and their answers to the envelope: no logic beyond that mapping.
 */
import { badInput, notFound } from '../../domain/errors.js';
import type { RouteContext, RouteResult } from '../context.js';
import { jsonField, sessionIdFrom, stringField, uploadReference } from '../fields.js';
import {
  CatalogsQuery,
  ConfigureSessionMutation,
  CreateSessionMutation,
  DeleteSessionMutation,
  NextSessionStepMutation,
  SessionQuery,
  SetSessionStepMutation,
  type ConfigureSessionInput,
  type SessionState,
} from '../operations/index.js';
import { DATASET_CARDS, ORIGINAL_MODELS } from '../original.js';
import { sessionView, stepperView, trainingInfo } from '../views.js';

export async function requireSession(ctx: RouteContext, id: string): Promise<SessionState> {
  const { session } = await ctx.execute(SessionQuery, { id });
  if (!session) throw notFound('Session', id);
  return session;
}

/** The select page's data: the original's dataset cards (with availability) and model list, and our catalogs. */
async function selectView(ctx: RouteContext, session: SessionState) {
  const { datasets, models } = await ctx.execute(CatalogsQuery, {});
  const cards: Record<string, Record<string, unknown>> = {};
  for (const dataset of datasets) {
    const card = DATASET_CARDS[dataset.id];
    if (card) cards[dataset.id] = { id: dataset.id, ...card, available: dataset.available };
  }
  if (session.workflow.uploadedDataset) {
    const upload = session.workflow.uploadedDataset;
    cards[upload.id] = {
      id: upload.id,
      name: upload.originalFileName ?? upload.name,
      description: 'Your uploaded CSV',
      img: null,
      color: '#10b981',
      available: true,
    };
  }
  return {
    ...sessionView(session),
    ...stepperView(session),
    session: sessionView(session),
    datasets: cards,
    models: ORIGINAL_MODELS.map(({ value, label }) => ({ value, label })),
    available_datasets: datasets,
    available_models: models,
  };
}

export async function getSelect(ctx: RouteContext): Promise<RouteResult> {
  const existing = ctx.url.searchParams.get('session_id');
  if (existing) return { data: await selectView(ctx, await requireSession(ctx, existing)) };
  const { createSession } = await ctx.execute(CreateSessionMutation, {});
  return { status: 201, data: await selectView(ctx, createSession) };
}

export const CONFIG_TYPES = ['data_source', 'model', 'hyperparameters'] as const;
type ConfigType = (typeof CONFIG_TYPES)[number];
type ConfigKind = ConfigType | 'next_step' | 'set_step';
/** The original client's stepper actions, and what each configures. */
export const ACTION_NAMES = [
  'update_data_source',
  'update_model',
  'update_hyperparameters',
  'next_step',
  'set_step',
] as const;
const ACTIONS: Record<(typeof ACTION_NAMES)[number], ConfigKind> = {
  update_data_source: 'data_source',
  update_model: 'model',
  update_hyperparameters: 'hyperparameters',
  next_step: 'next_step',
  set_step: 'set_step',
};

const isConfigType = (value: string): value is ConfigType => (CONFIG_TYPES as readonly string[]).includes(value);
const isAction = (value: string): value is (typeof ACTION_NAMES)[number] =>
  (ACTION_NAMES as readonly string[]).includes(value);

export async function postSelect(ctx: RouteContext): Promise<RouteResult> {
  const body = await ctx.body();
  const sessionId = sessionIdFrom(ctx, body);
  const action = stringField(body, 'action', false);
  const configType = stringField(body, 'config_type', false);
  let kind: ConfigKind;
  if (configType) {
    if (!isConfigType(configType))
      throw badInput(`Unknown config_type "${configType}"; accepted: ${CONFIG_TYPES.join(', ')}.`, 'config_type');
    kind = configType;
  } else if (action) {
    if (!isAction(action))
      throw badInput(`Unknown action "${action}"; accepted: ${ACTION_NAMES.join(', ')}.`, 'action');
    kind = ACTIONS[action];
  } else {
    throw badInput(`Give "config_type" (${CONFIG_TYPES.join(', ')}) or "action" (${ACTION_NAMES.join(', ')}).`);
  }

  await requireSession(ctx, sessionId);
  let session: SessionState;
  if (kind === 'next_step') {
    ({ nextSessionStep: session } = await ctx.execute(NextSessionStepMutation, { id: sessionId }));
  } else if (kind === 'set_step') {
    const raw = stringField(body, 'step');
    const step = Number(raw);
    if (!Number.isInteger(step)) throw badInput(`"step" must be a whole number, got "${String(raw)}".`, 'step');
    ({ setSessionStep: session } = await ctx.execute(SetSessionStepMutation, { id: sessionId, step }));
  } else {
    ({ configureSession: session } = await ctx.execute(ConfigureSessionMutation, {
      input: { sessionId, ...configureInput(kind, body) },
    }));
  }
  return {
    data: {
      action: action ?? configType,
      ...(await selectView(ctx, session)),
      message: `Updated ${kind.replace('_', ' ')}.`,
    },
  };
}

/** The ConfigureSessionInput of a data source, model or hyperparameters form. */
function configureInput(kind: ConfigType, body: Record<string, unknown>): Omit<ConfigureSessionInput, 'sessionId'> {
  if (kind === 'data_source') {
    const source = (stringField(body, 'data_source', false) ?? 'nasa').toLowerCase();
    if (source === 'nasa')
      return {
        dataSource: 'NASA',
        datasetId: stringField(body, 'dataset', false) ?? stringField(body, 'dataset_id', false),
      };
    // No upload yet is fine: the data step is simply not complete.
    if (source === 'user' || source === 'upload')
      return {
        dataSource: 'USER',
        datasetId: stringField(body, 'dataset_id', false) ?? uploadReference(body, 'uploaded_file_info'),
      };
    throw badInput(`Unknown data_source "${source}"; accepted: nasa, user.`, 'data_source');
  }
  if (kind === 'model') {
    return {
      modelType: stringField(body, 'model_type'),
      ...(body.hyperparameters !== undefined && { hyperparameters: jsonField(body, 'hyperparameters') }),
    };
  }
  const hyperparameters = jsonField(body, 'hyperparameters') ?? flatHyperparameters(body);
  const preprocessing = jsonField(body, 'preprocessing_config');
  if (hyperparameters === undefined && (preprocessing === undefined || preprocessing === null))
    throw badInput(
      '"hyperparameters" is required (an object, or one form field per hyperparameter).',
      'hyperparameters',
    );
  return {
    ...(hyperparameters !== undefined && { hyperparameters }),
    ...(preprocessing !== undefined && preprocessing !== null && { preprocessingConfig: preprocessing }),
  };
}

const ENVELOPE_FIELDS = new Set(['session_id', 'action', 'config_type', 'hyperparameters', 'preprocessing_config']);

/** A web form posts one field per hyperparameter (`max_depth=6`); the catalog validates names and coerces values. */
function flatHyperparameters(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const entries = Object.entries(body).filter(([name]) => !ENVELOPE_FIELDS.has(name));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

export async function getSession(ctx: RouteContext): Promise<RouteResult> {
  const session = await requireSession(ctx, ctx.params.id);
  return { data: { ...sessionView(session), ...stepperView(session), training_info: trainingInfo(session) } };
}

export async function deleteSession(ctx: RouteContext): Promise<RouteResult> {
  const { deleteSession: deleted } = await ctx.execute(DeleteSessionMutation, { id: ctx.params.id });
  if (!deleted) throw notFound('Session', ctx.params.id);
  return { data: { session_id: ctx.params.id, deleted: true }, top: { message: 'Session deleted' } };
}
