/// <reference lib="dom" />
import type { Catalog } from '../documents.js';

/** What the views share: the catalog, the session, and the events that move the page along. */
export interface AppContext {
  catalog: Catalog;
  sessionId: string;
  /** A run was started (or chosen): the live view follows it. */
  watch(runId: string): void;
  /** A run ended: results, history and the model's uses refresh. */
  finished(runId: string, status: string): void;
  /** Show a run's results (from the history table). */
  showResults(runId: string): void;
  /** The datasets changed (an upload). */
  reloadCatalog(): Promise<void>;
}
