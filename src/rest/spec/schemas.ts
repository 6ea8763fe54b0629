/**
 * The building blocks of the route specs: the envelopes, the error bodies and the shapes several routes answer.
 * Objects are loose: the original web client sends extra fields (one form field per hyperparameter), and answers
 * carry more fields than the ones named here.
 */
import { z } from 'zod';

export const loose = z.looseObject;
/** HTML forms send every value as a string. */
export const stringOrNumber = z.union([z.string(), z.number()]);
export const jsonObject = z.record(z.string(), z.unknown());
/** An object, or the same as a JSON string (forms). */
export const objectOrJson = z.union([jsonObject, z.string()]);
export const sessionIdField = stringOrNumber.describe('The session id GET /select returned.');
export const nullableString = z.string().nullable();
export const timestamp = z.string().describe('ISO 8601 time');

export const oneOf = <T extends readonly [string, ...string[]]>(name: string, values: T) =>
  z.enum(values, { error: (issue) => `Unknown ${name} "${String(issue.input)}"; accepted: ${values.join(', ')}.` });

/** The original envelope around `data`: the same fields at the top level beside `"status": "success"`. */
export function original(data: z.ZodObject, status: z.ZodType = z.literal('success')) {
  return data.extend({ status, data: data.extend({}) });
}

export const successFlag = (data: z.ZodObject) => data.extend({ success: z.literal(true) });

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

export const fileInfo = loose({
  dataset_id: z.string().describe('The upload id; send this object back as uploaded_file_info. Never a server path.'),
  original_name: z.string(),
  saved_name: z.string(),
  size: z.number().nullable(),
  uploaded_at: nullableString,
  num_rows: z.number().nullable(),
  num_columns: z.number(),
  columns: z.array(z.string()),
});

export const stepProgress = z.object({
  step1_complete: z.boolean(),
  step2_complete: z.boolean(),
  step3_complete: z.boolean(),
});

export const sessionInfo = loose({
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

export const sessionView = loose({
  session_id: z.string(),
  data_source: z.enum(['nasa', 'user']).nullable(),
  dataset: nullableString,
  model_type: nullableString,
  hyperparameters: jsonObject.describe("Stored in the catalog's names."),
  ready_to_train: z.boolean(),
  missing: z.array(z.string()),
  max_training_seconds: z
    .number()
    .int()
    .describe("Seconds each run may train: the form's max_training_seconds, else MAX_TRAINING_SECONDS."),
  warnings: z.array(z.string()).describe('E.g. an estimated training time past max_training_seconds.'),
  latest_run: loose({ run_id: z.string(), status: z.string() }).nullable(),
});

export const stepper = loose({
  session_id: z.string(),
  current_step: z.number().int(),
  max_step: z.number().int(),
  is_training_ready: z.boolean(),
  step_progress: stepProgress,
  session_info: sessionInfo,
});

export const selectData = sessionView.extend(stepper.shape).extend({
  datasets: z.record(
    z.string(),
    loose({ id: z.string(), name: z.string(), description: z.string(), img: nullableString, color: z.string() }),
  ),
  models: z.array(z.object({ value: z.string(), label: z.string() })),
  available_datasets: z.array(loose({ id: z.string(), available: z.boolean() })),
  available_models: z.array(loose({ id: z.string(), hyperparameters: z.array(loose({ name: z.string() })) })),
});

export const progressData = loose({
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

export const probability = z.object({ label: z.string(), probability: z.number() });
export const rowPrediction = loose({
  label: z.string(),
  confidence: z.number(),
  probabilities: z.array(probability),
  warnings: z.array(z.string()),
});

export const modelInfo = loose({
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

export const resultPrediction = loose({
  id: z.number().int(),
  name: z.string(),
  prediction: z.string().describe('Exoplanet, Candidate or False Positive (a custom upload: its own class names).'),
  confidence: z.number(),
  probabilities: z.array(z.number()),
  class_probabilities: z.record(z.string(), z.number()),
  actual: nullableString,
  reasons: z.array(z.string()).describe("The row's own explanation in words."),
});

export const explanation = loose({
  label: z.string(),
  method: z.string(),
  baseValue: z.number(),
  output: z.number(),
  contributions: z.array(loose({ feature: z.string(), value: z.number().nullable(), contribution: z.number() })),
  reasons: z.array(z.string()),
});

export const uploadFields = z.object({
  file: z.string().meta({ format: 'binary' }).describe('The CSV.'),
  label_column: z.string().optional().describe('Needed for a CSV that is not in a NASA format.'),
  name: z.string().optional(),
});

export const sidParam = z.object({ sid: z.string().describe('The session id the start request returned.') });
export const limitQuery = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'limit must be a whole number')
    .optional()
    .describe(`Rows listed with their explanation (0–${max}, default ${fallback}).`);

export const e404 = { description: 'Unknown session (or other resource).', schema: ERROR_SCHEMA };
export const e400 = { description: 'Invalid input, named in `field`.', schema: ERROR_SCHEMA };
export const e413Upload = { description: 'Over MAX_UPLOAD_MB.', schema: ERROR_SCHEMA };
export const e415Upload = { description: 'Not a CSV, or not multipart.', schema: ERROR_SCHEMA };
export const e409 = { description: 'No trained model yet, or a run already active.', schema: ERROR_SCHEMA };
