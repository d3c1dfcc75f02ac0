import { WaypointError } from "@waypoint/checkpoint";

/**
 * The JSON error every refused request gets: `{ error: { code, message } }`,
 * with the Waypoint error code when a Waypoint error caused it, and an HTTP
 * status that fits the code.
 *
 * @experimental
 */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly data?: unknown };
}

/**
 * Codes of the inspector's own refusals, which are about HTTP rather than a store; each has a page in docs/errors.
 *
 * @experimental
 */
export const INSPECTOR_ERROR_CODES = [
  "READ_ONLY",
  "TOKEN_REQUIRED",
  "ORIGIN_REFUSED",
  "NOT_FOUND",
] as const;
/**
 * One of INSPECTOR_ERROR_CODES: the `code` of a refusal by the inspector itself.
 *
 * @experimental
 */
export type InspectorErrorCode = (typeof INSPECTOR_ERROR_CODES)[number];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_RESUME: 400,
  INVALID_UPDATE: 400,
  INVALID_ROUTE: 400,
  UNSERIALIZABLE_VALUE: 400,
  THREAD_NOT_FOUND: 404,
  CHECKPOINT_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  CHECKPOINT_CONFLICT: 409,
  THREAD_BUSY: 409,
  THREAD_EXISTS: 409,
  RUN_STATE: 409,
  LEASE_LOST: 409,
  GRAPH_CHANGED: 409,
  STORAGE_UNAVAILABLE: 503,
  CHECKPOINTER_CLOSED: 503,
};

/** The status and body for anything a handler threw. */
export function errorResponse(error: unknown): { status: number; body: ApiErrorBody } {
  if (error instanceof ApiError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  }
  if (error instanceof WaypointError) {
    const code = String(error.code);
    return {
      status: STATUS_BY_CODE[code] ?? 500,
      body: { error: { code, message: error.message, data: error.data } },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: { code: "INTERNAL", message } } };
}

export const invalid = (message: string) => new ApiError(400, "INVALID_ARGUMENT", message);
