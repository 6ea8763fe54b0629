/**
 * The original API's catalog and service routes: datasets, models, a model's hyperparameter form, health and the
 * frontend status.
 */
import type { ResultOf } from '../../client/graphql.js';
import { badInput } from '../../domain/errors.js';
import type { RouteContext, RouteResult } from '../context.js';
import {
  DatasetsQuery,
  DeleteDatasetMutation,
  HealthQuery,
  HyperparameterFormsQuery,
  ModelsQuery,
} from '../operations/index.js';

export async function getDatasets(ctx: RouteContext): Promise<RouteResult> {
  const { datasets } = await ctx.execute(DatasetsQuery, {});
  return { data: { total_datasets: datasets.length, datasets } };
}

/** DELETE /api/datasets/<id>: one of the caller's uploads (deleteDataset: NOT_FOUND, FORBIDDEN, CONFLICT as there). */
export async function deleteDataset(ctx: RouteContext): Promise<RouteResult> {
  await ctx.execute(DeleteDatasetMutation, { id: ctx.params.id });
  return { data: { dataset_id: ctx.params.id, deleted: true }, top: { message: 'Dataset deleted' } };
}

export async function getModels(ctx: RouteContext): Promise<RouteResult> {
  const { models } = await ctx.execute(ModelsQuery, {});
  return { data: { total_models: models.length, models } };
}

type HyperparameterSpec = ResultOf<typeof HyperparameterFormsQuery>['models'][number]['hyperparameters'][number];

/** A catalog name in words: n_estimators → "N estimators" (the description says the rest). */
function labelOf(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One form field of the original client, from a catalog spec. */
function formField(spec: HyperparameterSpec): Record<string, unknown> {
  const field: Record<string, unknown> = {
    name: spec.name,
    label: labelOf(spec.name),
    description: spec.description,
    allowed: spec.allowed,
  };
  if (spec.type === 'INT' || spec.type === 'FLOAT') {
    field.type = spec.specialValues?.length ? 'text' : 'number';
    if (spec.min !== null) field.min = spec.minExclusive ? undefined : spec.min;
    if (spec.max !== null) field.max = spec.max;
    field.step = spec.type === 'INT' ? 1 : 'any';
  } else if (spec.type === 'ENUM') {
    field.type = 'select';
    field.options = (spec.choices ?? []).map((choice) => ({ value: choice, label: choice }));
  } else if (spec.type === 'BOOL') {
    field.type = 'select';
    field.options = [
      { value: 'true', label: 'true' },
      { value: 'false', label: 'false' },
    ];
  } else {
    field.type = 'text';
  }
  field.default =
    spec.default === null
      ? null
      : Array.isArray(spec.default)
        ? spec.default.join(',')
        : spec.type === 'BOOL' && typeof spec.default === 'boolean'
          ? String(spec.default)
          : spec.default;
  const hints = [
    spec.nullable ? 'None (unlimited)' : null,
    spec.specialValues?.length ? spec.specialValues.join(' or ') : null,
    spec.type === 'INT_LIST' ? 'e.g. 128,64,32' : null,
  ].filter((hint): hint is string => hint !== null);
  if (hints.length > 0) field.placeholder = hints.join('; ');
  return Object.fromEntries(Object.entries(field).filter(([, value]) => value !== undefined));
}

/** GET /api/hyperparameters/<model_type>: the form of a model, generated from its catalog specs. */
export async function getHyperparameters(ctx: RouteContext): Promise<RouteResult> {
  const requested = ctx.params.model_type;
  const { models } = await ctx.execute(HyperparameterFormsQuery, {});
  const key = requested
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  const model = models.find((m) => m.id === key || m.aliases.includes(key));
  if (!model) throw badInput(`Unknown model type: ${requested}`, 'model_type');
  const hyperparameters = model.hyperparameters.map(formField);
  return { data: { model_type: model.id, requested_model_type: requested, model_name: model.name, hyperparameters } };
}

export async function getHealth(ctx: RouteContext): Promise<RouteResult> {
  const { health, sessionCount } = await ctx.execute(HealthQuery, {});
  const extra = {
    timestamp: new Date().toISOString(),
    active_sessions: sessionCount,
    training_sessions: health.queuedRuns + health.runningRuns,
  };
  // The original answered "healthy" in place of the envelope's status; the service's own word stays under data.
  return { data: { ...health, ...extra }, top: { status: 'healthy' } };
}

export function getFrontendStatus(): Promise<RouteResult> {
  return Promise.resolve({
    data: {
      frontend_built: false,
      dist_path: null,
      build_exists: false,
      index_exists: false,
      timestamp: new Date().toISOString(),
      message:
        'This server serves no web client: run the original client on its own dev server (ports 3000/3001 are allowed origins), or use /graphql and /docs.',
    },
  });
}
