/**
 * The original Flask API's routes, as its web client and README use them (rest-contract.md).
 */
import { z } from 'zod';
import { ACTION_NAMES, CONFIG_TYPES } from '../routes/sessions.js';
import {
  ERROR_SCHEMA,
  e400,
  e404,
  e409,
  e413Upload,
  e415Upload,
  explanation,
  fileInfo,
  jsonObject,
  limitQuery,
  loose,
  modelInfo,
  nullableString,
  objectOrJson,
  oneOf,
  original,
  progressData,
  resultPrediction,
  rowPrediction,
  selectData,
  sessionIdField,
  sessionView,
  stepper,
  stringOrNumber,
  timestamp,
  uploadFields,
} from './schemas.js';
import type { RouteSpec } from './types.js';

export const ORIGINAL_SPECS: RouteSpec[] = [
  {
    method: 'GET',
    path: '/',
    tag: 'Original API',
    summary: 'Project information (an HTML page when the browser asks for text/html)',
    envelope: 'original',
    responses: {
      200: {
        description: 'The home page content.',
        schema: original(
          loose({
            title: z.string(),
            description: z.string(),
            message: z.string(),
            features: z.array(z.string()),
            datasets_available: z.array(z.string()),
            models_available: z.array(z.string()),
            getting_started: z.object({ step1: z.string(), step2: z.string(), step3: z.string(), step4: z.string() }),
            endpoints: z.array(z.string()),
          }),
        ),
      },
    },
  },
  {
    method: 'GET',
    path: '/select',
    tag: 'Original API',
    summary: 'A new session (201), or an existing one with ?session_id=, with the datasets and models to choose from',
    envelope: 'original',
    query: z.looseObject({ session_id: z.string().optional() }),
    responses: {
      200: { description: 'An existing session.', schema: original(selectData) },
      201: { description: 'A new session.', schema: original(selectData) },
      404: e404,
    },
  },
  {
    method: 'POST',
    path: '/select',
    tag: 'Original API',
    summary: 'Configure the session: the client’s stepper actions, or the README’s config_type form',
    description:
      'Actions: `update_data_source` (`data_source` nasa|user, `dataset`, `uploaded_file_info`), `update_model` (`model_type`), ' +
      '`update_hyperparameters` (`hyperparameters` — values may be strings, scikit-learn names accepted — and `preprocessing_config`), ' +
      '`next_step`, `set_step` (`step`). `config_type` data_source | model | hyperparameters is accepted too. Stepper: max_step is 3 once ' +
      'data is chosen, 2 with only a data source, else 1; is_training_ready when a model is chosen, the data is configured and current_step is 3.',
    envelope: 'original',
    body: z.looseObject({
      session_id: sessionIdField.optional(),
      action: oneOf('action', ACTION_NAMES).optional(),
      config_type: oneOf('config_type', CONFIG_TYPES).optional(),
      data_source: z.string().optional().describe('nasa or user'),
      dataset: z.string().optional(),
      dataset_id: z.string().optional(),
      uploaded_file_info: z.union([fileInfo, z.string(), z.null()]).optional(),
      model_type: z.string().optional(),
      hyperparameters: objectOrJson.optional(),
      preprocessing_config: z.union([objectOrJson, z.null()]).optional(),
      step: stringOrNumber.optional(),
    }),
    responses: {
      200: {
        description: 'The session after the change.',
        schema: original(selectData.extend({ action: z.string(), message: z.string() })),
      },
      400: e400,
      404: e404,
    },
  },
  {
    method: 'POST',
    path: '/training',
    tag: 'Original API',
    summary: "Start training the session's configuration, or a hyperparameter search with `search` (202)",
    description:
      "With `search`, a hyperparameter search (GraphQL startSearch) of the session's data: its trials are scored by " +
      'cross-validated (or validation) macro-F1; its best trial is refitted as a normal run. The answer then carries ' +
      '`kind: "search"`, `search_id`, and `best` / `leaderboard` as they fill.',
    envelope: 'original',
    body: z.looseObject({
      session_id: sessionIdField.optional(),
      search: z
        .looseObject({
          model_types: z.union([z.array(z.string()), z.string()]).describe('Model ids or aliases (list or "rf,xgb").'),
          strategy: z.enum(['RANDOM', 'SUCCESSIVE_HALVING']).optional(),
          scoring: z.enum(['CV_MACRO_F1', 'VALIDATION_MACRO_F1']).optional(),
          cv_folds: z.number().int().optional(),
          budget_seconds: z.number().int().optional().describe('At most MAX_TRAINING_SECONDS (default 300).'),
          max_trials: z.number().int().optional(),
          seed: z.number().int().optional(),
          space: z.record(z.string(), z.unknown()).optional().describe('Per model type: { dimensions?, fixed? }.'),
        })
        .optional(),
    }),
    responses: {
      202: {
        description: 'Queued or running.',
        schema: original(progressData.extend({ training_started: z.literal(true), initial_progress: z.number() })),
      },
      400: e400,
      404: e404,
      409: e409,
    },
  },
  {
    method: 'GET',
    path: '/training',
    tag: 'Original API',
    summary: 'Training progress (poll until progress is 100)',
    envelope: 'original',
    query: z.looseObject({ session_id: z.string().describe('The session id.') }),
    responses: {
      200: {
        description:
          'The latest run’s progress; or the latest search’s (`kind: "search"`, steps are trials) while it is newer ' +
          'than the latest run; the run refitting a search’s best trial carries that `search`.',
        schema: original(progressData),
      },
      400: e400,
      404: e404,
    },
  },
  {
    method: 'POST',
    path: '/predict',
    tag: 'Original API',
    summary: 'Configure the test data GET /result predicts (test_data_config), or predict rows / a dataset now',
    description:
      '`test_data_config`: {data_source: nasa, dataset} or {data_source: user, uploaded_file_info}; the table the model trained on means its held-out test split. ' +
      '`rows`: up to 1,000 objects keyed by column. `dataset_id`: a whole upload or NASA table, stored as a batch (CSV at /api/predictions/<id>.csv).',
    envelope: 'original',
    body: z.looseObject({
      session_id: sessionIdField.optional(),
      test_data_config: z
        .union([
          z.looseObject({
            data_source: z.string().optional(),
            dataset: z.string().optional(),
            uploaded_file_info: z.unknown().optional(),
          }),
          z.string(),
        ])
        .optional(),
      rows: z.union([z.array(z.unknown()), z.string(), jsonObject]).optional(),
      instance_data: objectOrJson.optional(),
      dataset_id: z.string().optional(),
      candidates_only: z.union([z.boolean(), z.string()]).optional(),
    }),
    responses: {
      200: {
        description: 'Test data configured, or the predictions.',
        schema: original(
          loose({
            session_id: z.string(),
            test_data_configured: z.literal(true).optional(),
            ready_for_results: z.boolean().optional(),
            test_config: loose({
              data_source: z.string(),
              dataset: nullableString,
              held_out_split: z.boolean(),
            }).optional(),
            predictions: z.array(rowPrediction).optional(),
            prediction_id: z.string().optional(),
          }),
        ),
      },
      400: e400,
      404: e404,
      409: e409,
    },
  },
  {
    method: 'GET',
    path: '/predict',
    tag: 'Original API',
    summary: 'Whether the session has a trained model, and its model_info',
    envelope: 'original',
    query: z.looseObject({ session_id: z.string() }),
    responses: {
      200: {
        description: 'Model readiness.',
        schema: original(
          loose({
            session_id: z.string(),
            model_ready: z.boolean(),
            training_completed: z.boolean(),
            training_status: z.string(),
            ready_for_prediction: z.boolean(),
            model_info: modelInfo.nullable(),
          }),
        ),
      },
      400: e400,
      404: e404,
    },
  },
  {
    method: 'GET',
    path: '/result',
    tag: 'Original API',
    summary: 'Metrics, and the configured test data (default the held-out test split) predicted with reasons',
    description:
      'Every test row is predicted and counted in `summary`; the first `limit` rows are listed, each with the reasons of its own explanation.',
    envelope: 'original',
    query: z.looseObject({ session_id: z.string(), limit: limitQuery(200, 25) }),
    responses: {
      200: {
        description: 'Results.',
        schema: original(
          loose({
            session_id: z.string(),
            run_id: z.string(),
            model_info: modelInfo,
            test_data: z.object({
              kind: z.enum(['held_out_test_split', 'dataset']),
              dataset: z.string(),
              rows: z.number().int(),
            }),
            predictions: z.array(resultPrediction),
            summary: loose({
              total_predictions: z.number().int(),
              exoplanet_count: z.number().int(),
              false_positive_count: z.number().int(),
              candidate_count: z.number().int(),
              average_confidence: z.number(),
              accuracy: z.number().nullable(),
            }),
            metrics: loose({ accuracy: z.number(), classes: z.array(z.string()) }),
            confusion_matrix: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number().int())) }),
            feature_importance: z.array(loose({ feature: z.string(), importance: z.number() })),
          }),
        ),
      },
      400: e400,
      404: e404,
      409: e409,
    },
  },
  {
    method: 'POST',
    path: '/result',
    tag: 'Original API',
    summary: 'Explain: local (one row, instance_data) or global (feature importance)',
    envelope: 'original',
    body: z.looseObject({
      session_id: sessionIdField.optional(),
      explanation_type: z.string().optional().describe('local (default) or global'),
      instance_data: objectOrJson.optional(),
      label: z.string().optional().describe('The class to explain; default the predicted one.'),
    }),
    responses: {
      200: {
        description: 'The explanation.',
        schema: original(
          loose({
            session_id: z.string(),
            run_id: z.string(),
            explanation_type: z.enum(['local', 'global']),
            explanation: z.union([explanation, loose({ feature_importance: z.array(jsonObject) })]),
          }),
        ),
      },
      400: e400,
      404: e404,
      409: e409,
    },
  },
  {
    method: 'GET',
    path: '/api/datasets',
    tag: 'Original API',
    summary: 'The NASA tables and uploads',
    envelope: 'original',
    responses: {
      200: {
        description: 'Datasets.',
        schema: original(
          loose({
            total_datasets: z.number().int(),
            datasets: z.array(loose({ id: z.string(), kind: z.string(), available: z.boolean() })),
          }),
        ),
      },
    },
  },
  {
    method: 'GET',
    path: '/api/models',
    tag: 'Original API',
    summary: 'The model catalog with its hyperparameter specs',
    envelope: 'original',
    responses: {
      200: {
        description: 'Models.',
        schema: original(
          loose({
            total_models: z.number().int(),
            models: z.array(loose({ id: z.string(), hyperparameters: z.array(jsonObject) })),
          }),
        ),
      },
    },
  },
  {
    method: 'GET',
    path: '/api/hyperparameters/<model_type>',
    tag: 'Original API',
    summary: "A model's hyperparameter form, generated from the catalog",
    envelope: 'original',
    params: z.object({
      model_type: z.string().describe('A catalog id or alias (linear_regression, random_forest, …).'),
    }),
    responses: {
      200: {
        description: 'Form specs.',
        schema: original(
          loose({
            model_type: z.string(),
            hyperparameters: z.array(
              loose({
                name: z.string(),
                label: z.string(),
                type: z.enum(['number', 'select', 'text']),
                default: z.union([z.number(), z.string(), z.null()]),
                min: z.number().optional(),
                max: z.number().optional(),
                step: z.union([z.number(), z.literal('any')]).optional(),
                options: z.array(z.object({ value: z.string(), label: z.string() })).optional(),
                placeholder: z.string().optional(),
              }),
            ),
          }),
        ),
      },
      400: { description: '"Unknown model type: X"', schema: ERROR_SCHEMA },
    },
  },
  {
    method: 'GET',
    path: '/api/health',
    tag: 'Service',
    summary: 'Health (status "healthy" in place of the envelope’s "success")',
    envelope: 'original',
    responses: {
      200: {
        description: 'Healthy.',
        schema: original(
          loose({
            version: z.string(),
            timestamp,
            active_sessions: z.number().int(),
            training_sessions: z.number().int(),
            queuedRuns: z.number().int(),
            runningRuns: z.number().int(),
          }),
          z.literal('healthy'),
        ),
      },
    },
  },
  {
    method: 'GET',
    path: '/api/frontend-status',
    tag: 'Service',
    summary: 'Whether a built web client is served here (never: run it on its dev server)',
    envelope: 'original',
    responses: {
      200: {
        description: 'Status.',
        schema: original(
          loose({
            frontend_built: z.boolean(),
            dist_path: nullableString,
            build_exists: z.boolean(),
            index_exists: z.boolean(),
            timestamp,
          }),
        ),
      },
    },
  },
  {
    method: 'POST',
    path: '/api/upload',
    tag: 'Original API',
    summary: 'Upload a CSV (201)',
    envelope: 'original',
    multipart: uploadFields,
    responses: {
      201: {
        description: 'The dataset.',
        schema: original(
          loose({
            dataset_id: z.string(),
            dataset: loose({ id: z.string(), kind: z.string() }),
            filename: nullableString,
            file_size: z.number().nullable(),
            uploaded_at: nullableString,
          }),
        ),
      },
      400: e400,
      413: e413Upload,
      415: e415Upload,
    },
  },
  {
    method: 'POST',
    path: '/api/upload-csv',
    tag: 'Original API',
    summary: "Upload a CSV; with session_id it becomes that session's user data source",
    envelope: 'original',
    multipart: uploadFields.extend({ session_id: z.string().optional() }),
    responses: {
      200: {
        description: 'The file_info (never a server path).',
        schema: original(
          loose({
            message: z.string(),
            file_info: fileInfo,
            dataset_id: z.string(),
            session_id: nullableString,
            current_step: z.number().int().optional(),
            max_step: z.number().int().optional(),
          }),
        ),
      },
      400: e400,
      404: e404,
      413: e413Upload,
      415: e415Upload,
    },
  },
  {
    method: 'GET',
    path: '/api/sessions/<id>',
    tag: 'Original API',
    summary: 'A session: its configuration, stepper and training',
    envelope: 'original',
    params: z.object({ id: z.string() }),
    responses: {
      200: {
        description: 'The session.',
        schema: original(
          sessionView.extend(stepper.shape).extend({
            training_info: loose({
              run_id: nullableString,
              status: z.string(),
              training_status: z.string(),
              progress: z.number(),
            }),
          }),
        ),
      },
      404: e404,
    },
  },
  {
    method: 'DELETE',
    path: '/api/sessions/<id>',
    tag: 'Original API',
    summary: 'Delete a session with its runs, models and predictions',
    envelope: 'original',
    params: z.object({ id: z.string() }),
    responses: {
      200: {
        description: 'Deleted.',
        schema: original(z.object({ session_id: z.string(), deleted: z.literal(true) })).extend({
          message: z.string(),
        }),
      },
      404: e404,
    },
  },
  {
    method: 'GET',
    path: '/api/predictions/<id>.csv',
    tag: 'Original API',
    summary: 'A stored batch prediction as CSV',
    envelope: 'none',
    params: z.object({ id: z.string() }),
    responses: { 200: { description: 'The CSV.', contentType: 'text/csv' }, 404: e404 },
  },
];
