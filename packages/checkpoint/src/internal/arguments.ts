import type { CheckpointAddress } from "../checkpoint.js";
import { InvalidArgumentError } from "../errors.js";

const MAX_ID_LENGTH = 512;

/** Thread ids, namespaces, checkpoint and task ids: non-empty text without NUL. */
export function assertId(value: unknown, argument: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidArgumentError(argument, `expected a non-empty string, got ${describe(value)}`);
  }
  if (value.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(argument, `longer than ${MAX_ID_LENGTH} characters`);
  }
  if (value.includes("\u0000"))
    throw new InvalidArgumentError(argument, "contains a NUL character");
}

/** Where pending writes go, checked, with the namespace resolved ("" for the root). */
export function resolveAddress(target: CheckpointAddress): Required<CheckpointAddress> {
  assertId(target.threadId, "threadId");
  const namespace = resolveNamespace(target.namespace);
  assertId(target.checkpointId, "checkpointId");
  return { threadId: target.threadId, namespace, checkpointId: target.checkpointId };
}

/** "" is the root namespace. */
export function resolveNamespace(value: unknown, argument = "namespace"): string {
  if (value === undefined || value === "") return "";
  assertId(value, argument);
  return value;
}

export function assertInteger(
  value: unknown,
  argument: string,
  min: number,
): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(
      argument,
      `expected an integer >= ${min}, got ${describe(value)}`,
    );
  }
}

export function resolveLimit(
  value: unknown,
  argument: string,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  assertInteger(value, argument, 1);
  return Math.min(value, max);
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}
