/**
 * What a REST route receives and returns. A route maps request fields to variables of typed GraphQL operations,
 * runs them in-process (`execute`), and maps their answers to the envelope.
 */
import type { IncomingMessage } from 'node:http';
import type { Execute } from './graphql-client.js';
import type { StreamedForm } from '../http/multipart-stream.js';

/** What the final API keeps between requests, per app: the default model of each mission and the pretrained jobs. */
export interface PretrainedState {
  /** mission → the session whose model serves pretrained predictions (made once, on first use). */
  models: Map<string, Promise<string>>;
  /** job session → the model session it predicts with (the newest MAX_PRETRAINED_JOBS). */
  jobs: Map<string, string>;
}

export interface RouteContext {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  execute: Execute;
  /** Runs operations as the server (no owner, no API key, no rate limit): what it makes for everyone (pretrained models). */
  executeAsServer: Execute;
  /** Parsed JSON or form body (POST/DELETE routes), validated by the route's spec. */
  body: () => Promise<Record<string, unknown>>;
  /** Whether the request is multipart/form-data. */
  isMultipart: boolean;
  /** The parsed multipart body within MAX_UPLOAD_MB; 415 naming `what` when the request is not multipart. */
  form: (what: string) => Promise<FormData>;
  /**
   * The multipart body read as it arrives (src/http/multipart-stream.ts), handed over when the file part named
   * `fileField` begins: an upload is parsed while it is sent. 415 naming `what` when the request is not multipart.
   */
  streamForm: (what: string, fileField: string) => Promise<StreamedForm>;
  /** The final API's pretrained models and jobs (per app). */
  pretrained: PretrainedState;
}

export interface RouteResult {
  status?: number;
  data: Record<string, unknown>;
  /** Top-level fields that differ from `data` (see successBody). */
  top?: Record<string, unknown>;
}

export type Handler = (ctx: RouteContext) => Promise<RouteResult>;
