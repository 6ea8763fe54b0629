/**
 * What a stored batch prediction says about its rows (the `summary` JSON column, GraphQL `PredictionBatch`).
 * Pure: no imports.
 */
export interface PredictionSummary {
  rowCount: number;
  counts: { label: string; count: number }[];
  meanConfidence: number;
  meanProbabilities: { label: string; probability: number }[];
  /** Rows in which every model feature was missing. */
  rowsWithoutFeatures: number;
  /** Model features the data lacks entirely (imputed or routed by default branches). */
  missingFeatures: string[];
}
