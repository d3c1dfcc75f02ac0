import { ERROR_CHANNEL, INTERRUPT_CHANNEL } from "./pending-writes.js";

/**
 * - `finished`: the head plans no more tasks.
 * - `interrupted`: an interrupt is pending. A resume replaces the interrupt's
 *   pending write (same task and idx) with a `__resume__` write.
 * - `failed`: a task of the head's superstep failed.
 * - `pending`: work is planned; a restarted process should resume it.
 */
export type ThreadStatus = "finished" | "interrupted" | "failed" | "pending";

/** Every ThreadStatus, for validating input. */
export const THREAD_STATUSES: readonly ThreadStatus[] = [
  "finished",
  "interrupted",
  "failed",
  "pending",
];

/** A thread's head, as `listThreads` reports it (root namespace). */
export interface ThreadSummary {
  readonly threadId: string;
  readonly headId: string;
  readonly step: number;
  readonly updatedAt: Date;
  readonly status: ThreadStatus;
}

/** Options of `Checkpointer.listThreads`: page size, cursor and a status filter. */
export interface ListThreadsOptions {
  /** At most this many threads (default 100, at most 1000). */
  readonly limit?: number;
  /** Cursor from the previous page's `nextCursor`. */
  readonly after?: string;
  /** Only threads in one of these states. */
  readonly status?: ThreadStatus | readonly ThreadStatus[];
}

/** One page of `Checkpointer.listThreads`, in thread id order, with the cursor for the next. */
export interface ThreadPage {
  readonly threads: readonly ThreadSummary[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * The one rule every backend applies to tell a thread's status from its head:
 * how many tasks the head plans, and the channels of its pending writes.
 */
export function deriveThreadStatus(
  plannedTasks: number,
  pendingChannels: Iterable<string>,
): ThreadStatus {
  if (plannedTasks === 0) return "finished";
  let interrupted = false;
  for (const channel of pendingChannels) {
    if (channel === ERROR_CHANNEL) return "failed";
    if (channel === INTERRUPT_CHANNEL) interrupted = true;
  }
  return interrupted ? "interrupted" : "pending";
}
