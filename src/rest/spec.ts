/**
 * The REST routes described once, as zod schemas: the router validates each request's query and body with them,
 * and /openapi.json is generated from them (openapi.ts). Objects are loose: the original web client sends extra
 * fields (one form field per hyperparameter), and answers carry more fields than the ones named here.
 */
import { z } from 'zod';

export type Method = 'GET' | 'POST' | 'DELETE';
export type Envelope = 'original' | 'success-flag' | 'none';

export interface ResponseSpec {
  description: string;
  /** The JSON body (envelope included); absent for non-JSON answers. */
  schema?: z.ZodType;
  /** Non-JSON content type (text/html, text/csv). */
  contentType?: string;
}

export interface RouteSpec {
  method: Method;
  /** The path as the router matches it, with `<name>` parameters. */
  path: string;
  tag: 'Original API' | 'Final API' | 'Service';
  summary: string;
  description?: string;
  envelope: Envelope;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** JSON (or x-www-form-urlencoded) body. */
  body?: z.ZodType;
  /** multipart/form-data fields, for the document (the file routes read them themselves). */
  multipart?: z.ZodObject;
  responses: Record<number, ResponseSpec>;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

const loose = z.looseObject;
/** HTML forms send every value as a string. */
const stringOrNumber = z.union([z.string(), z.number()]);
const jsonObject = z.record(z.string(), z.unknown());
/** An object, or the same as a JSON string (forms). */
const objectOrJson = z.union([jsonObject, z.string()]);
const sessionIdField = stringOrNumber.describe('The session id GET /select returned.');
const nullableString = z.string().nullable();
const timestamp = z.string().describe('ISO 8601 time');

const oneOf = <T extends readonly [string, ...string[]]>(name: string, values: T) =>
  z.enum(values, { error: (issue) => `Unknown ${name} "${String(issue.input)}"; accepted: ${values.join(', ')}.` });

/** The original envelope around `data`: the same fields at the top level beside `"status": "success"`. */
function original<S extends z.ZodObject>(data: S, status: z.ZodType = z.literal('success')) {
  return data.extend({ status, data: data.extend({}) });
}

const successFlag = <S extends z.ZodObject>(data: S) => data.extend({ success: z.literal(true) });

export const ERROR_SCHEMA = z.object({
  status: z.literal('error'),
  error: z.string().describe('What went wrong, in words.'),
  code: z
    .string()
    .describe(
      'BAD_USER_INPUT, BAD_REQUEST, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, SERVICE_UNAVAILABLE, INTERNAL_SERVER_ERROR',
    ),
  field: z.string().optional().describe('The input at fault.'),
});

export const FLAG_ERROR_SCHEMA = z.object({
  success: z.literal(false),
  error: z.string(),
  code: z.string(),
  field: z.string().optional(),
});

const fileInfo = loose({
  dataset_id: z.string().describe('The upload id; send this object back as uploaded_file_info. Never a server path.'),
  original_name: z.string(),
  saved_name: z.string(),
  size: z.number().nullable(),
  uploaded_at: nullableString,
  num_rows: z.number().nullable(),
  num_columns: z.number(),
  columns: z.array(z.string()),
});

const stepProgress = z.object({
  step1_complete: z.boolean(),
  step2_complete: z.boolean(),
  step3_complete: z.boolean(),
});

const sessionInfo = loose({
  created_at: timestamp,
  updated_at: timestamp,
  status: z.string(),
  current_step: z.number().int(),
  data_source: z.enum(['nasa', 'user']).nullable(),
  selected_dataset: z.string(),
  selected_model: z
    .string()
    .describe("The original's model value (linear_regression for the catalog's logistic_regression)."),
  model_type: nullableString,
  uploaded_file_info: fileInfo.nullable(),
  hyperparameters: jsonObject,
  preprocessing_config: jsonObject,
  step_progress: stepProgress,
});

const sessionView = loose({
  session_id: z.string(),
  data_source: z.enum(['nasa', 'user']).nullable(),
  dataset: nullableString,
  model_type: nullableString,
  hyperparameters: jsonObject.describe("Stored in the catalog's names."),
  ready_to_train: z.boolean(),
  missing: z.array(z.string()),
  latest_run: loose({ run_id: z.string(), status: z.string() }).nullable(),
});

const stepper = loose({
  session_id: z.string(),
  current_step: z.number().int(),
  max_step: z.number().int(),
  is_training_ready: z.boolean(),
  step_progress: stepProgress,
  session_info: sessionInfo,
});

const selectData = sessionView.extend(stepper.shape).extend({
  datasets: z.record(
    z.string(),
    loose({ id: z.string(), name: z.string(), description: z.string(), img: nullableString, color: z.string() }),
  ),
  models: z.array(z.object({ value: z.string(), label: z.string() })),
  available_datasets: z.array(loose({ id: z.string(), available: z.boolean() })),
  available_models: z.array(loose({ id: z.string(), hyperparameters: z.array(loose({ name: z.string() })) })),
});

const progressData = loose({
  session_id: z.string(),
  run_id: nullableString,
  status: z
    .string()
    .describe(
      'QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED or NOT_STARTED (under data; the top level is the envelope).',
    ),
  training_status: z.enum(['not_started', 'queued', 'training', 'completed', 'error', 'cancelled']),
  stage: nullableString,
  progress: z.number().min(0).max(100).describe('0–100; 100 once the model is ready.'),
  step: z.number().int(),
  total_steps: z.number().int(),
  message: nullableString,
});

const probability = z.object({ label: z.string(), probability: z.number() });
const rowPrediction = loose({
  label: z.string(),
  confidence: z.number(),
  probabilities: z.array(probability),
  warnings: z.array(z.string()),
});

const modelInfo = loose({
  run_id: z.string(),
  model_type: z.string(),
  dataset: z.string(),
  hyperparameters: jsonObject,
  classes: z.array(z.string()),
  feature_count: z.number().int(),
  features: z.array(z.string()),
  train_size: z.number().nullable(),
  test_size: z.number().nullable(),
  accuracy: z.number(),
});

const resultPrediction = loose({
  id: z.number().int(),
  name: z.string(),
  prediction: z.string().describe('Exoplanet, Candidate or False Positive (a custom upload: its own class names).'),
  confidence: z.number(),
  probabilities: z.array(z.number()),
  class_probabilities: z.record(z.string(), z.number()),
  actual: nullableString,
  reasons: z.array(z.string()).describe("The row's own explanation in words."),
});

const explanation = loose({
  label: z.string(),
  method: z.string(),
  baseValue: z.number(),
  output: z.number(),
  contributions: z.array(loose({ feature: z.string(), value: z.number().nullable(), contribution: z.number() })),
  reasons: z.array(z.string()),
});

const customPrediction = loose({
  id: z.number().int(),
  prediction: z.string(),
  confidence: z.number(),
  probabilities: z.record(z.string(), z.number()),
  feature_importance: z.record(z.string(), z.number()).describe("The row's explanation: each feature's contribution."),
  features: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
  actual: z.string().optional(),
});

const customResult = successFlag(
  loose({
    session_id: z.string(),
    metrics: loose({
      accuracy: z.number(),
      confusion_matrix: z.array(z.array(z.number().int())),
      f1_score: z.number(),
      precision: z.number(),
      recall: z.number(),
    }),
    predictions: z.array(customPrediction),
    model_info: loose({
      model_type: z.string(),
      feature_count: z.number().int(),
      train_size: z.number().nullable(),
      test_size: z.number().int(),
    }),
  }),
);

const customProgress = successFlag(
  loose({
    session_id: z.string(),
    progress: z.number().min(0).max(100),
    current_step: z.string(),
    status: z.enum(['initialized', 'running', 'completed', 'error']),
  }),
);

const uploadFields = z.object({
  file: z.string().meta({ format: 'binary' }).describe('The CSV.'),
  label_column: z.string().optional().describe('Needed for a CSV that is not in a NASA format.'),
  name: z.string().optional(),
});

const sidParam = z.object({ sid: z.string().describe('The session id the start request returned.') });
const limitQuery = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'limit must be a whole number')
    .optional()
    .describe(`Rows listed with their explanation (0–${max}, default ${fallback}).`);

const CONFIG_TYPES = ['data_source', 'model', 'hyperparameters'] as const;
const ACTIONS = ['update_data_source', 'update_model', 'update_hyperparameters', 'next_step', 'set_step'] as const;

// ---------------------------------------------------------------------------------------------------------------
// The routes

const e404 = { description: 'Unknown session (or other resource).', schema: ERROR_SCHEMA };
const e400 = { description: 'Invalid input, named in `field`.', schema: ERROR_SCHEMA };
const e413Upload = { description: 'Over MAX_UPLOAD_MB.', schema: ERROR_SCHEMA };
const e415Upload = { description: 'Not a CSV, or not multipart.', schema: ERROR_SCHEMA };
const e409 = { description: 'No trained model yet, or a run already active.', schema: ERROR_SCHEMA };

/** The final version's progress and result answers, shared by its custom and pretrained routes. */
const customProgressResponses = {
  200: { description: 'Progress.', schema: customProgress },
  404: { description: '"Session not found"', schema: FLAG_ERROR_SCHEMA },
};
const customResultQuery = z.looseObject({ limit: limitQuery(200, 50) });
const customResultResponses = {
  200: { description: 'The result.', schema: customResult },
  400: { description: '"Training not completed yet"', schema: FLAG_ERROR_SCHEMA },
  404: { description: '"Session not found"', schema: FLAG_ERROR_SCHEMA },
};

export const ROUTE_SPECS: RouteSpec[] = [
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
      action: oneOf('action', ACTIONS).optional(),
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
    summary: "Start training the session's configuration (202)",
    envelope: 'original',
    body: z.looseObject({ session_id: sessionIdField.optional() }),
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
      200: { description: 'The latest run’s progress.', schema: original(progressData) },
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
  {
    method: 'POST',
    path: '/api/custom/train',
    tag: 'Final API',
    summary: 'Train a model on a NASA table or your files (202)',
    description:
      'JSON, or multipart with `hyperparameters` as a JSON string and the files `training_file` (+ optional `testing_file`, predicted in the result).',
    envelope: 'success-flag',
    body: z.looseObject({
      model_type: z.string().optional(),
      data_source: z.string().optional().describe('nasa or user'),
      dataset_name: z.string().optional().describe('kepler, k2 or tess'),
      hyperparameters: objectOrJson.optional(),
      data_format: z.string().optional(),
    }),
    multipart: z.object({
      model_type: z.string(),
      data_source: z.string().optional(),
      dataset_name: z.string().optional(),
      hyperparameters: z.string().optional().describe('A JSON object as text.'),
      training_file: z.string().meta({ format: 'binary' }).optional(),
      testing_file: z.string().meta({ format: 'binary' }).optional(),
    }),
    responses: {
      202: {
        description: 'Training started.',
        schema: successFlag(loose({ session_id: z.string(), run_id: z.string(), message: z.string() })),
      },
      400: { description: 'Invalid input.', schema: FLAG_ERROR_SCHEMA },
    },
  },
  {
    method: 'GET',
    path: '/api/custom/progress/<sid>',
    tag: 'Final API',
    summary: 'Training progress (the client polls every second until "completed")',
    envelope: 'success-flag',
    params: sidParam,
    responses: customProgressResponses,
  },
  {
    method: 'GET',
    path: '/api/custom/result/<sid>',
    tag: 'Final API',
    summary: 'Metrics and the test data predicted, each listed row with its feature contributions',
    envelope: 'success-flag',
    params: sidParam,
    query: customResultQuery,
    responses: customResultResponses,
  },
  {
    method: 'POST',
    path: '/api/pretrained/predict',
    tag: 'Final API',
    summary: "Predict a NASA table (its held-out rows) or your NASA-format file with the mission's default model (202)",
    description: 'The default model of each mission (a random forest) is trained once, on first use, and reused.',
    envelope: 'success-flag',
    body: z.looseObject({ data_source: z.string().optional(), dataset_name: z.string().optional() }),
    multipart: z.object({ data_source: z.string().optional(), training_file: z.string().meta({ format: 'binary' }) }),
    responses: {
      202: {
        description: 'Prediction started.',
        schema: successFlag(
          loose({ session_id: z.string(), model_session_id: z.string(), mission: z.string(), message: z.string() }),
        ),
      },
      400: { description: 'Invalid input.', schema: FLAG_ERROR_SCHEMA },
    },
  },
  {
    method: 'GET',
    path: '/api/pretrained/progress/<sid>',
    tag: 'Final API',
    summary: "Progress of the mission's default model",
    envelope: 'success-flag',
    params: sidParam,
    responses: customProgressResponses,
  },
  {
    method: 'GET',
    path: '/api/pretrained/result/<sid>',
    tag: 'Final API',
    summary: 'The predictions, as /api/custom/result',
    envelope: 'success-flag',
    params: sidParam,
    query: customResultQuery,
    responses: customResultResponses,
  },
];

ROUTE_SPECS.push(
  {
    method: 'GET',
    path: '/openapi.json',
    tag: 'Service',
    summary: 'This document (OpenAPI 3.1)',
    envelope: 'none',
    responses: { 200: { description: 'The OpenAPI document.', contentType: 'application/json' } },
  },
  {
    method: 'GET',
    path: '/docs',
    tag: 'Service',
    summary: 'This document as a readable page',
    envelope: 'none',
    responses: { 200: { description: 'HTML.', contentType: 'text/html' } },
  },
);

export function routeSpec(method: string, path: string): RouteSpec | undefined {
  return ROUTE_SPECS.find((spec) => spec.method === method && spec.path === path);
}
