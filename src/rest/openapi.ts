/**
 * The OpenAPI 3.1 document of the REST layer, generated from the route specs (spec.ts) that the router validates
 * requests with: one source. zod's own JSON Schema output (draft 2020-12) is OpenAPI 3.1's schema dialect.
 */
import { z } from 'zod';
import { APP_VERSION } from '../version.js';
import { ERROR_SCHEMA, FLAG_ERROR_SCHEMA, ROUTE_SPECS, type RouteSpec } from './spec/index.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/api/sessions/<id>` → `/api/sessions/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/<([^>]+)>/g, '{$1}');
}

function parameters(spec: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!schema) continue;
    const object = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      const { description, ...propertySchema } = property;
      out.push({
        name,
        in: where,
        required: where === 'path' || (object.required ?? []).includes(name),
        schema: propertySchema,
        ...(typeof description === 'string' ? { description } : {}),
      });
    }
  }
  return out;
}

function operation(spec: RouteSpec): JsonSchema {
  const op: JsonSchema = {
    operationId: `${spec.method.toLowerCase()}${spec.path.replace(/<([^>]+)>/g, 'By_$1').replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()) || 'Home'}`,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
  };
  const params = parameters(spec);
  if (params.length > 0) op.parameters = params;
  const content: Record<string, JsonSchema> = {};
  if (spec.body) {
    const schema = jsonSchema(spec.body, 'input');
    content['application/json'] = { schema };
    content['application/x-www-form-urlencoded'] = { schema };
  }
  if (spec.multipart) content['multipart/form-data'] = { schema: jsonSchema(spec.multipart, 'input') };
  if (Object.keys(content).length > 0)
    op.requestBody = { required: spec.method === 'POST' && !spec.path.startsWith('/training'), content };
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.schema
        ? { content: { 'application/json': { schema: jsonSchema(response.schema, 'output') } } }
        : response.contentType
          ? {
              content: {
                [response.contentType]: { schema: response.contentType.includes('json') ? {} : { type: 'string' } },
              },
            }
          : {}),
    };
  }
  const errorSchema = spec.envelope === 'success-flag' ? FLAG_ERROR_SCHEMA : ERROR_SCHEMA;
  responses.default = {
    description:
      'Any other error (405, 413, 415, 500; 503 with Retry-After while another process holds the database write lock) in the same envelope.',
    content: { 'application/json': { schema: jsonSchema(errorSchema, 'output') } },
  };
  op.responses = responses;
  return op;
}

let cached: JsonSchema | null = null;

export function openApiDocument(): JsonSchema {
  if (cached) return cached;
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of ROUTE_SPECS) (paths[openApiPath(spec.path)] ??= {})[spec.method.toLowerCase()] = operation(spec);
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Exoplanet Playground — REST API',
      version: APP_VERSION,
      description:
        "The original Flask backend's REST routes and its final version's routes, each a mapping onto the GraphQL API at /graphql. " +
        'Original envelope: every field at the top level beside "status": "success", and the same object under "data"; errors ' +
        '{"status": "error", "error", "code", "field"}. Final API: {"success": true|false, …}.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'Original API', description: 'What the original web client and the README use.' },
      { name: 'Final API', description: "The project's last version: custom training and pretrained predictions." },
      { name: 'Service', description: 'Health and status.' },
    ],
    paths,
  };
  return cached;
}
