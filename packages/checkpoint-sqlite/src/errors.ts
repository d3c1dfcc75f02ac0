import { WaypointError } from "@waypoint/checkpoint";

export type SqliteErrorCode = "DATABASE_CORRUPT";

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
