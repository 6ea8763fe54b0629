/**
 * The REST routes described once, as zod schemas: the router validates each request's query and body with them,
 * and /openapi.json is generated from them (openapi.ts). One file per API: original.ts (the Flask API its web
 * client and README use), final.ts (the final version's custom and pretrained routes).
 */
import { FINAL_SPECS } from './final.js';
import { ORIGINAL_SPECS } from './original.js';
import type { RouteSpec } from './types.js';
import { ERROR_SCHEMA } from './schemas.js';
import { z } from 'zod';

export type { Envelope, Method, ResponseSpec, RouteSpec } from './types.js';
export { ERROR_SCHEMA, FLAG_ERROR_SCHEMA } from './schemas.js';

export const ROUTE_SPECS: RouteSpec[] = [
  ...ORIGINAL_SPECS,
  ...FINAL_SPECS,
  {
    method: 'DELETE',
    path: '/api/datasets/<id>',
    tag: 'Service',
    summary:
      'Delete one of your uploads (the owner token it was uploaded with) with its stored file; 404 for an upload ' +
      'that is not yours, 403 for a NASA table, 409 while a queued or running training run uses it',
    envelope: 'original',
    params: z.object({ id: z.string() }),
    responses: {
      200: {
        description: 'Deleted.',
        schema: z.looseObject({
          status: z.literal('success'),
          dataset_id: z.string(),
          deleted: z.literal(true),
          message: z.string(),
          data: z.looseObject({ dataset_id: z.string(), deleted: z.literal(true) }),
        }),
      },
      403: { description: 'A NASA table, or an upload made without a token.', schema: ERROR_SCHEMA },
      404: { description: 'No such upload of yours.', schema: ERROR_SCHEMA },
      409: { description: 'A queued or running training run uses it.', schema: ERROR_SCHEMA },
    },
  },
  {
    method: 'GET',
    path: '/api/ready',
    tag: 'Service',
    summary: 'Readiness: 200 while the database, Redis (REDIS_URL) and the training queue answer, else 503',
    envelope: 'original',
    responses: {
      200: {
        description: 'Ready.',
        schema: z.looseObject({ status: z.literal('ready'), data: z.looseObject({ ready: z.literal(true) }) }),
      },
      503: {
        description: 'A dependency does not answer; `data.failing` names it.',
        schema: z.looseObject({
          status: z.literal('not ready'),
          error: z.string(),
          data: z.looseObject({ ready: z.literal(false), failing: z.array(z.string()) }),
        }),
      },
    },
  },
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
];

export function routeSpec(method: string, path: string): RouteSpec | undefined {
  return ROUTE_SPECS.find((spec) => spec.method === method && spec.path === path);
}
