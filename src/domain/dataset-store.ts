/**
 * What the `datasets` table keeps of an upload besides its file: the summary that listing and the dataset fields
 * need, and its first rows for previewRows. Written at upload time so that no request re-parses a CSV to list.
 */
import type { ClassCount } from './data.js';

export interface StoredColumn {
  name: string;
  type: 'numeric' | 'text';
  missingShare: number;
  min?: number;
  max?: number;
  distinct?: number;
}

export interface StoredDatasetDetails {
  rowCount: number;
  columns: StoredColumn[];
  labelColumn: string;
  groupColumn: string | null;
  classes: string[];
  classCounts: ClassCount[];
  featureColumns: string[];
  featureCandidates: string[];
  vettingColumns: string[];
  idColumns: string[];
}

/** The first rows of the table in column order; an empty cell is null. */
export interface StoredPreview {
  columns: string[];
  rows: (string | null)[][];
}
