import { SpanStatusCode, type Span } from "@opentelemetry/api";
import type { CheckpointHeader, Checkpointer } from "@waypoint/checkpoint";

/**
 * The backend's name for `waypoint.checkpoint.backend`: "memory", "sqlite",
 * "postgres", "redis" for the built-in ones (their class name without
 * "Checkpointer"), the class name otherwise.
 */
export function backendOf(checkpointer: Checkpointer): string {
  const name = (checkpointer as object).constructor?.name ?? "";
  if (name === "" || name === "Object") return "custom";
  return name.endsWith("Checkpointer") && name !== "Checkpointer"
    ? name.slice(0, -"Checkpointer".length).toLowerCase()
    : name;
}

/**
 * The serialized bytes a put wrote, as its chain tells them without
 * serializing anything again: a snapshot's size when it stored one, else how
 * much the chain grew. An estimate (the record's header is not counted).
 */
export function putBytes(header: CheckpointHeader, parent: CheckpointHeader | null): number {
  const chain = header.chain;
  if (chain.baseId === header.id || parent === null || parent.chain.baseId !== chain.baseId)
    return chain.snapshotBytes + chain.deltaBytes;
  return Math.max(
    0,
    chain.snapshotBytes + chain.deltaBytes - parent.chain.snapshotBytes - parent.chain.deltaBytes,
  );
}

/** `error.type`: an error's `code` (Waypoint's errors have one), else its name. */
export function errorType(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === "string") return name;
  }
  return "_OTHER";
}

/**
 * Calls `call` and tells `done` how it ended (undefined, or what it threw or
 * rejected with), keeping its shape: a plain value stays a plain value.
 */
export function settle(call: () => unknown, done: (error: unknown) => void): unknown {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    done(error);
    throw error;
  }
  if (!isThenable(result)) {
    done(undefined);
    return result;
  }
  return Promise.resolve(result).then(
    (value: unknown) => {
      done(undefined);
      return value;
    },
    (error: unknown) => {
      done(error);
      throw error;
    },
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    ((typeof value === "object" || typeof value === "function") &&
      value !== null &&
      typeof (value as { then?: unknown }).then === "function")
  );
}

/** Marks a span failed: ERROR status, the exception recorded, `error.type` set. */
export function failSpan(span: Span, error: unknown): Span {
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  span.setAttribute("error.type", errorType(error));
  if (error instanceof Error) span.recordException(error);
  else span.recordException(String(error));
  return span;
}
