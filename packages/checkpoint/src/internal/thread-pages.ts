import type { ListThreadsOptions, ThreadPage, ThreadSummary } from "../threads.js";
import { deriveThreadStatus } from "../threads.js";
import { resolveLimit } from "./arguments.js";
import { checkThreadFilter } from "./retention.js";

/** A thread's root head, as a backend reads it for listThreads. */
export interface ThreadHead {
  readonly threadId: string;
  readonly headId: string;
  readonly step: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly nextCount: number;
  /** Channels of the head's pending writes (only the reserved ones matter). */
  readonly pendingChannels: readonly string[];
}

/** One page of heads, in thread id order, and the last thread id it looked at (undefined at the end). */
export interface HeadsPage {
  readonly heads: readonly ThreadHead[];
  readonly last: string | undefined;
}

/**
 * listThreads, the same in every backend: reads pages of heads after a
 * cursor until `limit` threads in the wanted states are found, and returns
 * the cursor for the next page.
 */
export async function listThreadPage(
  options: ListThreadsOptions,
  nextPage: (after: string) => HeadsPage | Promise<HeadsPage>,
): Promise<ThreadPage> {
  const limit = resolveLimit(options.limit, "limit", 100, 1000);
  const wanted = checkThreadFilter(options);
  const threads: ThreadSummary[] = [];
  let after = options.after ?? "";
  for (;;) {
    const { heads, last } = await nextPage(after);
    for (const head of heads) {
      const status = deriveThreadStatus(head.nextCount, head.pendingChannels);
      if (!wanted(status)) continue;
      if (threads.length === limit)
        return { threads, nextCursor: threads[threads.length - 1]!.threadId };
      threads.push({
        threadId: head.threadId,
        headId: head.headId,
        step: head.step,
        updatedAt: new Date(head.createdAt),
        status,
      });
    }
    if (last === undefined) return { threads, nextCursor: null };
    after = last;
  }
}
