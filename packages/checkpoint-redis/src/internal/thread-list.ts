import {
  CorruptRecordError,
  ERROR_CHANNEL,
  type ListThreadsOptions,
  type ThreadPage,
} from "@waypoint/checkpoint";
import { listThreadPage } from "@waypoint/checkpoint/backend";
import type { CommandRunner } from "./command-runner.js";
import type { Keys } from "./keys.js";
import { decodePendingRecord, decodeRecordHeader, recordLabel } from "./records.js";

/** Thread ids per page of the thread index. */
const PAGE_SIZE = 100;

/**
 * RedisCheckpointer's `listThreads`: a page of the thread index, then each
 * thread's head and its pending writes' channels, one script per thread.
 * A damaged thread is reported to `onCorrupt` and left out (or listed as
 * failed, for a damaged pending write); the listing goes on.
 */
export function listThreads(
  runner: CommandRunner,
  keys: Keys,
  onCorrupt: (error: CorruptRecordError) => void,
  options: ListThreadsOptions,
): Promise<ThreadPage> {
  return listThreadPage(options, async (after) => {
    const ids = await runner.run("listThreads", () =>
      runner.redis.zrangebylex(
        keys.threads(),
        after === "" ? "-" : `(${after}`,
        "+",
        "LIMIT",
        0,
        PAGE_SIZE,
      ),
    );
    const replies = await Promise.all(
      ids.map((threadId) => {
        const thread = keys.of(threadId, "");
        return runner
          .run(
            "listThreads",
            () => runner.script("wpHeadStatus", [thread.head, thread.cps], [thread.pw]),
            undefined,
            () => `thread ${JSON.stringify(threadId)}`,
          )
          .catch((error: unknown) => {
            // One damaged thread (a key of the wrong type) never takes down the listing.
            if (!(error instanceof CorruptRecordError)) throw error;
            onCorrupt(error);
            return [];
          });
      }),
    );
    const heads = ids.flatMap((threadId, index) => {
      const [headId, headerText, pending] = replies[index] as [string?, string?, string[]?];
      // An indexed thread without a head: about to be created, or expired.
      if (headId === undefined) return [];
      try {
        const head = decodeRecordHeader(headerText ?? "", threadId, "", headId);
        return [
          {
            threadId,
            headId: head.id,
            step: head.step,
            createdAt: head.createdAt,
            nextCount: head.nextCount,
            pendingChannels: pendingChannels(threadId, headId, pending ?? [], onCorrupt),
          },
        ];
      } catch (error) {
        // A head that cannot be read is left out of the page and reported.
        if (!(error instanceof CorruptRecordError)) throw error;
        onCorrupt(error);
        return [];
      }
    });
    return { heads, last: ids.length < PAGE_SIZE ? undefined : ids[ids.length - 1] };
  });
}

/** The channels of a listed head's pending writes; one that cannot be read counts as an error. */
function pendingChannels(
  threadId: string,
  headId: string,
  pending: string[],
  onCorrupt: (error: CorruptRecordError) => void,
): string[] {
  return pending.map((text) => {
    try {
      return decodePendingRecord(text, () => recordLabel(threadId, "", headId)).channel;
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      onCorrupt(error);
      return ERROR_CHANNEL;
    }
  });
}
