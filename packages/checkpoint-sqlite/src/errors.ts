import { WaypointError } from "@waypoint/checkpoint";

/**
 * The codes of the errors this package adds to the storage contract's; each has a page under
 * `docs/errors/<code>.md`.
 */
export type SqliteErrorCode = "DATABASE_CORRUPT";

/** Every SqliteErrorCode, for tooling (the docs check walks this list). */
export const SQLITE_ERROR_CODES: readonly SqliteErrorCode[] = ["DATABASE_CORRUPT"];

/** The file is not a SQLite database, or SQLite found it damaged. */
export class DatabaseCorruptError extends WaypointError<SqliteErrorCode> {
  constructor(file: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      "DATABASE_CORRUPT",
      `The checkpoint database ${file} is not a valid SQLite file or is damaged: ${detail}`,
      {
        cause,
        data: { file },
      },
    );
  }
}
