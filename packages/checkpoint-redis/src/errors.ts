import { WaypointError } from "@waypoint/checkpoint";

export type RedisErrorCode = "REDIS_UNAVAILABLE";

export const REDIS_ERROR_CODES: readonly RedisErrorCode[] = ["REDIS_UNAVAILABLE"];

/**
 * Redis kept failing with a dropped connection, LOADING (restarting and
 * reading its AOF) or READONLY (a replica) for longer than the retry budget.
 * Nothing was half-written: every write is one Lua script. Retryable.
 */
export class RedisUnavailableError extends WaypointError<RedisErrorCode> {
  readonly retryable = true;
  constructor(operation: string, attempts: number, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      "REDIS_UNAVAILABLE",
      `Redis was unavailable for ${operation} after ${attempts} attempts: ${detail}`,
      {
        cause,
        data: { operation, attempts },
      },
    );
  }
}
