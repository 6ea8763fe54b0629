/**
 * Typed errors of the data layer. The service layer maps `code` onto GraphQL `extensions.code` / HTTP status
 * (BAD_USER_INPUT → 400/422, UNSUPPORTED_MEDIA_TYPE → 415) and `field` onto `extensions.field`.
 */
export type DataErrorCode = 'BAD_USER_INPUT' | 'UNSUPPORTED_MEDIA_TYPE';

export class DataError extends Error {
  override readonly name = 'DataError';
  readonly code: DataErrorCode;
  /** The input field the message is about (`file`, `labelColumn`, `features`, ...). */
  readonly field?: string;

  constructor(code: DataErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

/** A NASA table found neither in the data folder nor in the embedded snapshot (listed with `available: false`). */
export class NasaTableMissingError extends Error {
  override readonly name = 'NasaTableMissingError';
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly mission: string,
    readonly fileName: string,
    readonly folder: string,
  ) {
    super(nasaTableMissingMessage(mission, fileName, folder));
  }
}

/** One wording for a missing table, shared by the error, the dataset hint and the start-up warning. */
export function nasaTableMissingMessage(mission: string, fileName: string, folder: string): string {
  return `The ${mission} table (${fileName} or ${fileName}.gz) is neither in ${folder} (NASA_DATA_DIR) nor in the embedded snapshot. Run \`npm run data:fetch\` or point NASA_DATA_DIR at a folder that has it.`;
}
