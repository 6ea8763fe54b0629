/**
 * The original project's final version's routes (its newer web client): custom training and pretrained predictions,
 * with the `{"success": true|false, …}` envelope.
 */
import { z } from 'zod';
import { FLAG_ERROR_SCHEMA, limitQuery, loose, objectOrJson, successFlag } from './schemas.js';
import type { RouteSpec } from './types.js';

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

const sidParam = z.object({ sid: z.string().describe('The session id the start request returned.') });

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

export const FINAL_SPECS: RouteSpec[] = [
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
