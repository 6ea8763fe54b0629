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

/** A NASA table whose file is not in the data folder (the dataset is listed with `available: false`). */
export class NasaTableMissingError extends Error {
  override readonly name = 'NasaTableMissingError';
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly mission: string,
    readonly fileName: string,
  ) {
    super(`The ${mission} table (${fileName}) is not in the NASA data folder. Run \`npm run data:fetch\` to download it.`);
  }
}
