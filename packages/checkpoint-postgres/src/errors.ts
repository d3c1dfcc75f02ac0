import { WaypointError } from "@waypoint/checkpoint";

export type PostgresErrorCode = "STORAGE_UNAVAILABLE";

export const POSTGRES_ERROR_CODES: readonly PostgresErrorCode[] = ["STORAGE_UNAVAILABLE"];

/**
 * PostgreSQL could not be reached, or kept failing with errors that are safe
 * to retry (connection lost, serialization failure, deadlock, shutdown), for
 * longer than the retry budget. Nothing was half-written. Retryable: resume
 * the thread once the database is back.
 */
export class StorageUnavailableError extends WaypointError<PostgresErrorCode> {
  readonly retryable = true;
  constructor(operation: string, attempts: number, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      "STORAGE_UNAVAILABLE",
      `PostgreSQL was unavailable for ${operation} after ${attempts} attempts: ${detail}`,
      { cause, data: { operation, attempts } },
    );
  }
}
