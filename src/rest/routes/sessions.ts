/**
 * The original API's session routes: the select page (GET/POST /select) and /api/sessions/<id>. Each maps request
 * fields to variables of typed GraphQL operations and their answers to the envelope: no logic beyond that mapping.
 */
import { badInput, notFound } from '../../domain/errors.js';
import type { RouteContext, RouteResult } from '../context.js';
import { isRecord, jsonField, sessionIdFrom, stringField, uploadReference } from '../fields.js';
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
  const nested = jsonField(body, 'hyperparameters');
  // The model-selection options may come beside the hyperparameters or inside their object (the same form).
  const selection = selectionInput({ ...(isRecord(nested) ? nested : {}), ...body });
  const hyperparameters = isRecord(nested) ? withoutSelection(nested) : (nested ?? flatHyperparameters(body));
  const preprocessing = jsonField(body, 'preprocessing_config');
  const hasSelection = Object.keys(selection).length > 0;
  if (hyperparameters === undefined && (preprocessing === undefined || preprocessing === null) && !hasSelection)
    throw badInput(
      '"hyperparameters" is required (an object, or one form field per hyperparameter).',
      'hyperparameters',
    );
  return {
    ...(hyperparameters !== undefined && { hyperparameters }),
    ...(preprocessing !== undefined && preprocessing !== null && { preprocessingConfig: preprocessing }),
    ...selection,
  };
}

/** Form names of the model-selection options (issue 14) and the ConfigureSessionInput field of each. */
const SELECTION_FIELDS = [
  'cv_folds',
  'calibration',
  'calibrate_on',
  'refit',
  'cross_mission_dataset',
  'decision_tuning',
  'max_training_seconds',
] as const;
const CALIBRATIONS = { sigmoid: 'SIGMOID', isotonic: 'ISOTONIC' } as const;
const CALIBRATE_ON = { validation: 'VALIDATION', out_of_fold: 'OUT_OF_FOLD' } as const;
const REFITS = { none: 'NONE', train_validation: 'TRAIN_VALIDATION', all_labelled: 'ALL_LABELLED' } as const;
const DECISION_TUNINGS = { none: 'NONE', macro_f1: 'MACRO_F1' } as const;

function withoutSelection(values: Record<string, unknown>): Record<string, unknown> | undefined {
  const rest = Object.entries(values).filter(([name]) => !(SELECTION_FIELDS as readonly string[]).includes(name));
  return rest.length > 0 ? Object.fromEntries(rest) : undefined;
}

/** A word of `choices` (any case; '' or "none" → null where `none` is allowed), else BAD_USER_INPUT naming the field. */
function choice<T extends string>(value: unknown, field: string, choices: Record<string, T>, none: boolean): T | null {
  const word = (typeof value === 'string' ? value : String(value)).trim().toLowerCase();
  if (none && (word === '' || word === 'none' || word === 'null')) return null;
  const found = Object.entries(choices).find(([name]) => name === word);
  if (found) return found[1];
  throw badInput(
    `Unknown ${field} "${word}"; accepted: ${[...Object.keys(choices), ...(none ? ['none'] : [])].join(', ')}.`,
    field,
  );
}

/** The selection options a form sent, as ConfigureSessionInput fields (the GraphQL operation checks them). */
type SelectionInput = Pick<
  ConfigureSessionInput,
  | 'cvFolds'
  | 'calibration'
  | 'calibrateOn'
  | 'refit'
  | 'crossMissionDatasetId'
  | 'decisionTuning'
  | 'maxTrainingSeconds'
>;

function selectionInput(form: Record<string, unknown>): SelectionInput {
  const out: SelectionInput = {};
  if (form.cv_folds !== undefined) {
    const raw = form.cv_folds;
    const folds = raw === null || raw === '' ? 0 : Number(raw);
    if (!Number.isInteger(folds))
      throw badInput(`"cv_folds" must be a whole number (0 for none), got ${JSON.stringify(raw)}.`, 'cv_folds');
    out.cvFolds = folds;
  }
  if (form.calibration !== undefined)
    out.calibration = form.calibration === null ? null : choice(form.calibration, 'calibration', CALIBRATIONS, true);
  if (form.calibrate_on !== undefined && form.calibrate_on !== null)
    out.calibrateOn = choice(form.calibrate_on, 'calibrate_on', CALIBRATE_ON, false);
  if (form.refit !== undefined && form.refit !== null) out.refit = choice(form.refit, 'refit', REFITS, false);
  if (form.decision_tuning !== undefined && form.decision_tuning !== null)
    out.decisionTuning = choice(form.decision_tuning, 'decision_tuning', DECISION_TUNINGS, false);
  if (form.max_training_seconds !== undefined) {
    const raw = form.max_training_seconds;
    // '' or "none": the server's MAX_TRAINING_SECONDS; the GraphQL operation checks the range.
    const none = raw === null || raw === '' || raw === 'none';
    const seconds = none ? null : Number(raw);
    if (seconds !== null && !Number.isInteger(seconds))
      throw badInput(
        `"max_training_seconds" must be a whole number of seconds (or "none" for the server's limit), got ${JSON.stringify(raw)}.`,
        'max_training_seconds',
      );
    out.maxTrainingSeconds = seconds;
  }
  if (form.cross_mission_dataset !== undefined) {
    const id = form.cross_mission_dataset;
    if (id !== null && typeof id !== 'string')
      throw badInput(
        '"cross_mission_dataset" must be a dataset id (kepler, k2, tess) or "none".',
        'cross_mission_dataset',
      );
    out.crossMissionDatasetId = id === null || id === '' || id === 'none' ? null : id;
  }
  return out;
}

const ENVELOPE_FIELDS = new Set([
  'session_id',
  'action',
  'config_type',
  'hyperparameters',
  'preprocessing_config',
  ...SELECTION_FIELDS,
]);

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
