/**
 * Errors of the storage contract. Every error has a `code` from a closed
 * union, a page under `docs/errors/<code>.md`, and serialises to
 * `{ name, code, message, cause, data }` so that it can be stored and shown
 * after a restart.
 */

/** The codes of the errors this package throws; each has a page under `docs/errors/<code>.md`. */
export type CheckpointErrorCode =
  | "INVALID_ARGUMENT"
  | "CHECKPOINT_CONFLICT"
  | "CHECKPOINT_NOT_FOUND"
  | "THREAD_NOT_FOUND"
  | "THREAD_EXISTS"
  | "UNSERIALIZABLE_VALUE"
  | "CORRUPT_RECORD"
  | "UNSUPPORTED_FORMAT_VERSION"
  | "CHECKPOINTER_CLOSED"
  | "STORAGE_UNAVAILABLE"
  | "LEASE_LOST"
  | "THREAD_BUSY"
  | "RUN_NOT_FOUND"
  | "RUN_STATE";

/** Every code above, for tooling (the docs check walks this list). */
export const CHECKPOINT_ERROR_CODES: readonly CheckpointErrorCode[] = [
  "INVALID_ARGUMENT",
  "CHECKPOINT_CONFLICT",
  "CHECKPOINT_NOT_FOUND",
  "THREAD_NOT_FOUND",
  "THREAD_EXISTS",
  "UNSERIALIZABLE_VALUE",
  "CORRUPT_RECORD",
  "UNSUPPORTED_FORMAT_VERSION",
  "CHECKPOINTER_CLOSED",
  "STORAGE_UNAVAILABLE",
  "LEASE_LOST",
  "THREAD_BUSY",
  "RUN_NOT_FOUND",
  "RUN_STATE",
];

/** Details of an error as plain values (ids, counts, names), kept in its serialized form. */
export type ErrorData = Readonly<Record<string, unknown>>;

/**
 * An error as plain JSON: what `serializeError` and each WaypointError's
 * `toJSON` return, and what a failed run stores. `cause` is nested the same
 * way, or a string when the cause was not an Error.
 */
export interface SerializedError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
  readonly cause?: SerializedError | string;
  readonly data?: ErrorData;
}

/**
 * Base of every Waypoint error. Packages above this one extend it with codes
 * of their own; `code` is typed by each package's union.
 */
export class WaypointError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly data: ErrorData;

  constructor(code: Code, message: string, options: { cause?: unknown; data?: ErrorData } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.data = options.data ?? {};
  }

  /** The error as plain JSON (name, code, message, cause and data), for storing and logging. */
  toJSON(): SerializedError {
    return serializeError(this);
  }
}

/**
 * Any thrown value as plain JSON. Keeps `code` and `data` when the error has
 * them, and serializes an Error cause recursively; a value that is not an
 * Error becomes `{ name: "Error", message: String(value) }`. The stack is not kept.
 */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const code = (error as { code?: unknown }).code;
  const data = (error as { data?: unknown }).data;
  return {
    name: error.name,
    ...(typeof code === "string" ? { code } : {}),
    message: error.message,
    ...(error.cause === undefined ? {} : { cause: serializeCause(error.cause) }),
    ...(data !== null && typeof data === "object" ? { data: data as ErrorData } : {}),
  };
}

function serializeCause(cause: unknown): SerializedError | string {
  return cause instanceof Error ? serializeError(cause) : String(cause);
}

/**
 * An argument or option the caller passed is malformed or out of range; `data.argument` names it.
 */
export class InvalidArgumentError extends WaypointError<CheckpointErrorCode> {
  constructor(argument: string, problem: string, data: ErrorData = {}) {
    super("INVALID_ARGUMENT", `Invalid ${argument}: ${problem}`, { data: { argument, ...data } });
  }
}

/**
 * The data of a CheckpointConflictError: the head the writer expected and the one the thread has.
 */
export type ConflictDetails = {
  readonly threadId: string;
  readonly namespace: string;
  readonly expectedHeadId: string | null;
  readonly actualHeadId: string | null;
};

/** The thread's head moved since the writer read it; nothing was written. */
export class CheckpointConflictError extends WaypointError<CheckpointErrorCode> {
  declare readonly data: ConflictDetails;
  constructor(details: ConflictDetails) {
    super(
      "CHECKPOINT_CONFLICT",
      `Thread "${details.threadId}"${nsLabel(details.namespace)} has head ` +
        `${details.actualHeadId ?? "(none)"}, but the write expected ` +
        `${details.expectedHeadId ?? "(none)"}. Another writer moved the thread; reload and retry.`,
      { data: details },
    );
  }
}

/** A checkpoint id that does not exist in the thread and namespace it was asked for in. */
export class CheckpointNotFoundError extends WaypointError<CheckpointErrorCode> {
  constructor(threadId: string, namespace: string, checkpointId: string) {
    super(
      "CHECKPOINT_NOT_FOUND",
      `Checkpoint ${checkpointId} does not exist in thread "${threadId}"${nsLabel(namespace)}.`,
      { data: { threadId, namespace, checkpointId } },
    );
  }
}

/**
 * An operation that needs an existing thread (`copyThread`, `exportThread`) was given one with no
 * checkpoints.
 */
export class ThreadNotFoundError extends WaypointError<CheckpointErrorCode> {
  constructor(threadId: string) {
    super("THREAD_NOT_FOUND", `Thread "${threadId}" has no checkpoints.`, { data: { threadId } });
  }
}

/** The target thread of an import or copy already has checkpoints; nothing was written. */
export class ThreadExistsError extends WaypointError<CheckpointErrorCode> {
  constructor(threadId: string) {
    super("THREAD_EXISTS", `Thread "${threadId}" already has checkpoints.`, { data: { threadId } });
  }
}

/** A value that the serializer cannot save exactly. `path` starts at the channel. */
export class UnserializableValueError extends WaypointError<CheckpointErrorCode> {
  constructor(where: string, path: string, problem: string) {
    super("UNSERIALIZABLE_VALUE", `Cannot save ${where} at ${path}: ${problem}`, {
      data: { where, path, problem },
    });
  }
}

/** Stored bytes that are malformed, inconsistent, or hostile. Nothing was revived. */
export class CorruptRecordError extends WaypointError<CheckpointErrorCode> {
  constructor(where: string, problem: string, cause?: unknown) {
    super("CORRUPT_RECORD", `Corrupt record (${where}): ${problem}`, {
      cause,
      data: { where, problem },
    });
  }
}

/** A stored record was written by a newer version of Waypoint, in a format this one cannot read. */
export class UnsupportedFormatVersionError extends WaypointError<CheckpointErrorCode> {
  constructor(where: string, found: unknown, supported: number) {
    super(
      "UNSUPPORTED_FORMAT_VERSION",
      `${where} has format version ${String(found)}; this version of Waypoint reads up to ${supported}. ` +
        `Upgrade @waypoint/checkpoint to read it.`,
      { data: { where, found, supported } },
    );
  }
}

/** A call on a checkpointer after its `close()`. */
export class CheckpointerClosedError extends WaypointError<CheckpointErrorCode> {
  constructor(name: string) {
    super("CHECKPOINTER_CLOSED", `${name} is closed.`, { data: { checkpointer: name } });
  }
}

/**
 * The store could not be reached, or kept failing with errors that are safe
 * to retry, for longer than its retry budget. Nothing was half-written: every
 * backend writes a checkpoint in one atomic operation. The same error from
 * every backend, so callers handle an outage once, whichever store they use.
 */
export class StorageUnavailableError extends WaypointError<CheckpointErrorCode> {
  readonly retryable = true;
  constructor(backend: string, operation: string, attempts: number, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      "STORAGE_UNAVAILABLE",
      `${backend} was unavailable for ${operation} after ${attempts} attempts: ${detail}`,
      {
        cause,
        data: { backend, operation, attempts },
      },
    );
  }
}

/**
 * A write or lease call carried a fencing token that is no longer the run's:
 * another worker claimed the run after this one's lease lapsed, or the run
 * ended. Nothing was written. The worker must stop working on the run.
 */
export class LeaseLostError extends WaypointError<CheckpointErrorCode> {
  constructor(runId: string, token: number, problem: string) {
    super(
      "LEASE_LOST",
      `Lease on run ${runId} (token ${token}) is lost: ${problem}. Nothing was written.`,
      {
        data: { runId, token, problem },
      },
    );
  }
}

/** A run was created with the `reject` strategy while its thread had an active run. */
export class ThreadBusyError extends WaypointError<CheckpointErrorCode> {
  constructor(threadId: string, activeRunId: string, activeStatus: string) {
    super(
      "THREAD_BUSY",
      `Thread "${threadId}" is busy with run ${activeRunId} (${activeStatus}); the new run was rejected.`,
      { data: { threadId, activeRunId, activeStatus } },
    );
  }
}

/** No run with this id exists in the store. */
export class RunNotFoundError extends WaypointError<CheckpointErrorCode> {
  constructor(runId: string) {
    super("RUN_NOT_FOUND", `Run ${runId} does not exist.`, { data: { runId } });
  }
}

/** An operation that the run's status does not allow, e.g. resuming a run that is not paused. */
export class RunStateError extends WaypointError<CheckpointErrorCode> {
  constructor(runId: string, status: string, operation: string) {
    super("RUN_STATE", `Run ${runId} is ${status}; cannot ${operation} it.`, {
      data: { runId, status, operation },
    });
  }
}

function nsLabel(namespace: string): string {
  return namespace === "" ? "" : ` (namespace "${namespace}")`;
}
