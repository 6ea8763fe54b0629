/**
 * The shape of a REST route's description: the router validates requests with its zod schemas, and /openapi.json
 * is generated from it (openapi.ts).
 */
import type { z } from 'zod';

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
