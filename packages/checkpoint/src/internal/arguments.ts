import type { CheckpointAddress } from "../checkpoint.js";
import { InvalidArgumentError } from "../errors.js";

/** In UTF-16 code units (`string.length`), as documented in docs/limits.md. */
export const MAX_ID_LENGTH = 512;

/**
 * The one identity rule of every backend: thread ids, namespaces, checkpoint,
 * task and run ids, channel and node names and metadata keys are non-empty
 * text of at most MAX_ID_LENGTH code units, without NUL, and well-formed
 * Unicode. A lone surrogate cannot be stored as itself: PostgreSQL and Redis
 * replace it with U+FFFD (so two ids would meet) and SQLite cannot read it back.
 */
export function assertId(value: unknown, argument: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidArgumentError(argument, `expected a non-empty string, got ${describe(value)}`);
  }
  if (value.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(argument, `longer than ${MAX_ID_LENGTH} characters`);
  }
  assertStorableText(value, argument);
}

/** In `u` mode a surrogate pair is one code point, so only a lone surrogate matches (String#isWellFormed is ES2024). */
export const LONE_SURROGATE = /\p{Cs}/u;

/** No NUL, no lone surrogate: what every backend can store and give back exactly. */
export function assertStorableText(value: string, argument: string): void {
  if (value.includes("\u0000"))
    throw new InvalidArgumentError(argument, "contains a NUL character");
  if (LONE_SURROGATE.test(value)) {
    throw new InvalidArgumentError(
      argument,
      "is not well-formed Unicode (it holds a lone surrogate)",
    );
  }
}

/** The common case of assertId, without building an argument name. */
export function isId(value: unknown): boolean {
  return (
    typeof value === "string" &&
    value.length > 0 &&
    value.length <= MAX_ID_LENGTH &&
    !value.includes("\u0000") &&
    !LONE_SURROGATE.test(value)
  );
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

/** A page size: `fallback` when undefined, else an integer of at least 1, capped at `max`. */
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

/** What a schema's `safeParse` returns (zod's shape), as far as `assertParsed` reads it. */
export type ParseResult =
  | { readonly success: true }
  | {
      readonly success: false;
      readonly error: {
        readonly issues: readonly {
          readonly path: readonly PropertyKey[];
          readonly message: string;
        }[];
      };
    };

/**
 * Turns a failed schema check of an options object into INVALID_ARGUMENT
 * naming the first bad option (`options.<path>`); every backend's
 * constructor checks its options this way.
 */
export function assertParsed(result: ParseResult, argument = "options"): void {
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join(".");
  throw new InvalidArgumentError(path === "" ? argument : `${argument}.${path}`, issue.message);
}
