import type { PruneOptions } from "../checkpointer.js";
import { InvalidArgumentError } from "../errors.js";
import type { ListThreadsOptions, ThreadStatus } from "../threads.js";
import { THREAD_STATUSES } from "../threads.js";
import { assertId, assertInteger } from "./arguments.js";

/** The fields prune needs; backends can fetch just these. */
export interface PruneCandidate {
  readonly id: string;
  readonly parentId: string | null;
  readonly baseId: string;
  readonly createdAt: number;
}

/**
 * Validates prune options (at least one of `keepLast` and `olderThan`); InvalidArgumentError
 * otherwise.
 */
export function checkPruneOptions(options: PruneOptions): void {
  if (options.threadId !== undefined) assertId(options.threadId, "threadId");
  if (options.keepLast === undefined && options.olderThan === undefined) {
    throw new InvalidArgumentError("prune options", "give keepLast, olderThan, or both");
  }
  if (options.keepLast !== undefined) assertInteger(options.keepLast, "keepLast", 0);
  if (
    options.olderThan !== undefined &&
    !(options.olderThan instanceof Date && !Number.isNaN(options.olderThan.getTime()))
  ) {
    throw new InvalidArgumentError("olderThan", "expected a valid Date");
  }
}

/**
 * Which checkpoints of one thread and namespace prune deletes. A checkpoint
 * goes when it meets every condition given (beyond the newest `keepLast`,
 * created before `olderThan`), unless it is the head or lies on the chain
 * from a kept checkpoint back to that one's base snapshot.
 */
export function pruneSelection(
  records: readonly PruneCandidate[],
  headId: string,
  options: PruneOptions,
): string[] {
  const newestFirst = [...records].sort((a, b) => (a.id < b.id ? 1 : -1));
  const cutoff = options.olderThan?.getTime();
  const deletable = new Set<string>();
  newestFirst.forEach((record, index) => {
    const beyondKeep = options.keepLast === undefined || index >= options.keepLast;
    const old = cutoff === undefined || record.createdAt < cutoff;
    if (record.id !== headId && beyondKeep && old) deletable.add(record.id);
  });
  const byId = new Map(records.map((record) => [record.id, record]));
  for (const record of newestFirst) {
    if (deletable.has(record.id)) continue;
    // Keep everything this checkpoint needs to rebuild its state.
    let cursor: PruneCandidate | undefined = record;
    while (cursor !== undefined && cursor.id !== record.baseId) {
      cursor = cursor.parentId === null ? undefined : byId.get(cursor.parentId);
      if (cursor !== undefined) deletable.delete(cursor.id);
    }
  }
  return [...deletable];
}

/** Validates `status` and returns a predicate for it. */
export function checkThreadFilter(options: ListThreadsOptions): (status: ThreadStatus) => boolean {
  if (options.after !== undefined) assertId(options.after, "after");
  if (options.status === undefined) return () => true;
  const wanted: readonly unknown[] = Array.isArray(options.status)
    ? options.status
    : [options.status];
  for (const status of wanted) {
    if (!THREAD_STATUSES.includes(status as ThreadStatus)) {
      throw new InvalidArgumentError("status", `unknown thread status ${JSON.stringify(status)}`);
    }
  }
  return (status) => wanted.includes(status);
}
