/** The data layer's public API: CSV parsing, NASA missions, labelled tables, feature selection, splits. */
export { nasaTableMissing, nasaTableMissingMessage } from './errors.js';
export {
  parseCsv,
  parseCsvBuffer,
  parseNumber,
  isDecimalNumber,
  detectDelimiter,
  numericColumn,
  textColumn,
  columnIndex,
  profileColumns,
  DEFAULT_MAX_COLUMNS,
  type Table,
  type ColumnProfile,
  type ParseCsvOptions,
} from './csv.js';
export { ColumnTable } from './columns.js';
export {
  MISSIONS,
  MISSION_IDS,
  isMissionId,
  nasaDownloadUrl,
  detectMission,
  isVettingColumn,
  isIdentifierColumn,
  isMissionVettingColumn,
  type MissionId,
  type MissionSpec,
  type ClipFix,
} from './missions.js';
export {
  nasaLabeledTable,
  nasaLabeledTableFromTable,
  loadNasaTable,
  isNasaTableAvailable,
  clearNasaTableCache,
  customLabeledTable,
  detectLabelColumn,
  binaryTask,
  featureMatrix,
  selectFeatures,
  MAX_CLASSES,
  type LabeledTable,
  type DatasetSource,
  type ClassCount,
  type FeatureSelection,
} from './dataset.js';
export {
  groupedStratifiedSplit,
  DEFAULT_SPLIT_SIZES,
  DEFAULT_SPLIT_SEED,
  type SplitSizes,
  type SplitIndices,
} from './split.js';
export {
  resolveNasaTable,
  readNasaTable,
  parseExportDate,
  EMBEDDED_SNAPSHOT_DIR,
  type NasaTableSource,
  type NasaSourceKind,
  type ResolveOptions,
} from './nasa-source.js';
export { loadDataLocation, type DataLocation } from './location.js';
export { fitPreprocessor, Preprocessor, type PreprocessOptions, type PreprocessorJSON, type FeatureRange } from '../preprocess.js';
