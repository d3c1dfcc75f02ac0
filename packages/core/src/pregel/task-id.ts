import { hash } from "node:crypto";

/**
 * A task's id: derived from where it was planned, so that the same plan
 * always gives the same ids, and pending writes saved before a crash match
 * the tasks after it.
 */
export function taskId(parts: readonly (string | number)[]): string {
  return taskIdOfKey(parts.join(PART_SEPARATOR));
}

/** What `taskId` puts between parts: a caller that joins them itself (the planner) uses it too. */
export const PART_SEPARATOR = "\u0000";

/** `taskId` of parts already joined with PART_SEPARATOR. */
export function taskIdOfKey(key: string): string {
  const hex = hash("sha256", key, "hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Where an effect was called: what its idempotency key is derived from. */
export interface EffectKeyParts {
  readonly threadId: string;
  /** "" for the root graph. */
  readonly namespace: string;
  /** The checkpoint the effect's task was planned in (its origin, after a plain edit). */
  readonly checkpointId: string;
  readonly taskId: string;
  readonly name: string;
  /** The effect's place among its task's effects (0 for the first). */
  readonly index: number;
  /** How many times `retryFailedEffects` cleared it (0 when never). */
  readonly retries?: number;
  /** The recorded call it was made inside (EffectRecord's `scope`), for a nested call. */
  readonly scope?: string;
}

/**
 * The idempotency key `ctx.effect` hands its function: the same on every
 * replay of the effect, a new one per retry after `retryFailedEffects`.
 * Exported so that tools that read a store (the CLI, the inspector) show the
 * key the outside system received without copying how it is made.
 */
export function effectIdempotencyKey(parts: EffectKeyParts): string {
  const retries = parts.retries ?? 0;
  return taskId([
    parts.threadId,
    parts.namespace,
    parts.checkpointId,
    parts.taskId,
    "effect",
    parts.name,
    parts.index,
    ...(parts.scope !== undefined ? ["in", parts.scope] : []),
    ...(retries > 0 ? ["retry", retries] : []),
  ]);
}

/** What of a recorded effect (EffectRecord or its cleared form) its key is made from. */
export interface RecordedCallParts {
  readonly name: string;
  readonly index: number;
  readonly scope?: string;
  readonly retries?: number;
}

/**
 * The key a recorded call was (or, cleared for a retry, will be) given,
 * from its record and where it was recorded: for tools that read a store
 * (the CLI, the inspector), so that a call made inside a task, whose record
 * has a `scope`, shows the key its function received.
 */
export function recordedEffectKey(
  record: RecordedCallParts,
  at: Pick<EffectKeyParts, "threadId" | "namespace" | "checkpointId" | "taskId">,
): string {
  return effectIdempotencyKey({
    ...at,
    name: record.name,
    index: record.index,
    ...(record.scope !== undefined ? { scope: record.scope } : {}),
    ...(record.retries !== undefined ? { retries: record.retries } : {}),
  });
}
