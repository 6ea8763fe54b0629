/**
 * The data layer's errors are the application's one `AppError` (src/domain/errors.ts): input errors through
 * `badInput`/`unsupportedMediaType`, and a missing NASA table through `nasaTableMissing` below.
 */
import { AppError } from '../../domain/errors.js';

/** A NASA table found neither in the data folder nor in the embedded snapshot (listed with `available: false`). */
export function nasaTableMissing(mission: string, fileName: string, folder: string): AppError {
  return new AppError('NOT_FOUND', nasaTableMissingMessage(mission, fileName, folder));
}

/** One wording for a missing table, shared by the error, the dataset hint and the start-up warning. */
export function nasaTableMissingMessage(mission: string, fileName: string, folder: string): string {
  return `The ${mission} table (${fileName} or ${fileName}.gz) is neither in ${folder} (NASA_DATA_DIR) nor in the embedded snapshot. Run \`npm run data:fetch\` or point NASA_DATA_DIR at a folder that has it.`;
}
