/**
 * Compile-time proof that the two dialects' tables have identical row types, read and written: what lets the
 * services be written once against the Store (typed by the SQLite tables) and lets the PostgreSQL store hand its
 * rows over without any layer casting them. A column added to one schema and not the other fails `npm run typecheck`.
 */
import type * as pg from './schema.pg.js';
import type * as sqlite from './schema.js';

/** true when A and B are identical (the usual invariance trick: T is the probe, used once on each side on purpose). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

type Check<T extends true> = T;

export type SchemasAgree = [
  Check<Same<(typeof sqlite.datasets)['$inferSelect'], (typeof pg.datasets)['$inferSelect']>>,
  Check<Same<(typeof sqlite.datasets)['$inferInsert'], (typeof pg.datasets)['$inferInsert']>>,
  Check<Same<(typeof sqlite.datasetFiles)['$inferSelect'], (typeof pg.datasetFiles)['$inferSelect']>>,
  Check<Same<(typeof sqlite.datasetFiles)['$inferInsert'], (typeof pg.datasetFiles)['$inferInsert']>>,
  Check<Same<(typeof sqlite.sessions)['$inferSelect'], (typeof pg.sessions)['$inferSelect']>>,
  Check<Same<(typeof sqlite.sessions)['$inferInsert'], (typeof pg.sessions)['$inferInsert']>>,
  Check<Same<(typeof sqlite.trainingRuns)['$inferSelect'], (typeof pg.trainingRuns)['$inferSelect']>>,
  Check<Same<(typeof sqlite.trainingRuns)['$inferInsert'], (typeof pg.trainingRuns)['$inferInsert']>>,
  Check<Same<(typeof sqlite.progressEvents)['$inferSelect'], (typeof pg.progressEvents)['$inferSelect']>>,
  Check<Same<(typeof sqlite.progressEvents)['$inferInsert'], (typeof pg.progressEvents)['$inferInsert']>>,
  Check<Same<(typeof sqlite.models)['$inferSelect'], (typeof pg.models)['$inferSelect']>>,
  Check<Same<(typeof sqlite.models)['$inferInsert'], (typeof pg.models)['$inferInsert']>>,
  Check<Same<(typeof sqlite.testPredictions)['$inferSelect'], (typeof pg.testPredictions)['$inferSelect']>>,
  Check<Same<(typeof sqlite.testPredictions)['$inferInsert'], (typeof pg.testPredictions)['$inferInsert']>>,
  Check<Same<(typeof sqlite.predictions)['$inferSelect'], (typeof pg.predictions)['$inferSelect']>>,
  Check<Same<(typeof sqlite.predictions)['$inferInsert'], (typeof pg.predictions)['$inferInsert']>>,
  Check<Same<(typeof sqlite.predictionRows)['$inferSelect'], (typeof pg.predictionRows)['$inferSelect']>>,
  Check<Same<(typeof sqlite.predictionRows)['$inferInsert'], (typeof pg.predictionRows)['$inferInsert']>>,
  Check<Same<(typeof sqlite.settings)['$inferSelect'], (typeof pg.settings)['$inferSelect']>>,
  Check<Same<(typeof sqlite.settings)['$inferInsert'], (typeof pg.settings)['$inferInsert']>>,
  Check<Same<(typeof sqlite.searches)['$inferSelect'], (typeof pg.searches)['$inferSelect']>>,
  Check<Same<(typeof sqlite.searches)['$inferInsert'], (typeof pg.searches)['$inferInsert']>>,
];
