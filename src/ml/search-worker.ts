/**
 * Worker-thread entry of search jobs (piscina, the training pool with this file per task): loads the data, runs the
 * search, reports trials over the task's MessagePort. Kept apart from worker.ts so a search thread loads only what
 * a search needs.
 */
import { loadDataLocation } from './data/location.js';
import { toWorkerError } from '../domain/errors.js';
import { searchTable, type SearchTask } from './search-task.js';
import type { SearchResult } from './selection/search.js';
import { lowerThisThreadPriority } from './thread-priority.js';

lowerThisThreadPriority();

export default async function run(task: SearchTask): Promise<SearchResult> {
  try {
    const table = await loadDataLocation(task.location);
    return await searchTable(table, {
      run: task.run,
      search: task.search,
      scoring: task.scoring,
      cvFolds: task.cvFolds,
      threads: task.threads,
      send: (message) => {
        task.port.postMessage(message);
      },
    });
  } catch (error) {
    // Structured clone drops an AppError's code and field: the pool's `fromWorkerError` restores them.
    throw toWorkerError(error);
  } finally {
    task.port.close();
  }
}
