/**
 * What a session stores beyond its training config: the original web client's stepper. Pure: no imports.
 */

/** Where the session's data comes from: a NASA table or an uploaded CSV. */
export const DATA_SOURCES = ['nasa', 'user'] as const;
export type DataSourceChoice = (typeof DATA_SOURCES)[number];

/** Which steps of the original web client's stepper are complete (1 data, 2 model, 3 hyperparameters). */
export interface StepperProgress {
  step1: boolean;
  step2: boolean;
  step3: boolean;
}

/** A JSON object kept as the client sent it (the original web client's preprocessing settings). */
export type JsonObject = Record<string, unknown>;
