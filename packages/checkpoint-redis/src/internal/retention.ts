import type { Cluster, Redis } from "ioredis";
import type { PruneOptions, PruneResult } from "@waypoint/checkpoint";
import {
  assertId,
  checkPruneOptions,
  pruneSelection,
  resolveLimit,
  type PruneCandidate,
} from "@waypoint/checkpoint/backend";
import type { Keys } from "./keys.js";
import { decodeRecordHeader } from "./records.js";
import type { ScriptName } from "./scripts.js";

/**
 * Deletion: one thread, expired threads' index entries (sweep), old
 * checkpoints (prune). Every read and every write is bounded: a page of the
 * thread index, a page of a namespace's headers, a batch of deletions per
 * script, so Redis is never blocked for long, however large a thread.
 */

/** What the retention functions use of a RedisCheckpointer. */
export interface RedisStore {
  readonly redis: Redis | Cluster;
  readonly keys: Keys;
  script(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
  /** Runs a command, retrying what is safe to retry (see RedisCheckpointer). */
  run<T>(operation: string, attempt: () => Promise<T>): Promise<T>;
}

/** Thread ids per page of the thread index. */
const PAGE_SIZE = 100;
/** Keys deleted per script, and the default sweep batch. */
const DELETE_BATCH = 500;
/** Checkpoints whose headers one prune script reads. */
const PRUNE_PAGE = 500;

export async function deleteThread(store: RedisStore, threadId: string): Promise<boolean> {
  assertId(threadId, "threadId");
  const namespaces = await store.run("deleteThread", () =>
    store.redis.smembers(store.keys.namespaces(threadId)),
  );
  for (const namespace of namespaces) {
    const keys = store.keys.of(threadId, namespace);
    // Bounded batches: one short script each, so Redis is never blocked for long.
    while (
      (await store.run("deleteThread", () =>
        store.script(
          "wpDeleteBatch",
          [keys.head, keys.cps, keys.idx, store.keys.namespaces(threadId)],
          [keys.pw, namespace, DELETE_BATCH, `${store.keys.tag(threadId)}:pwk`],
        ),
      )) !== 0
    );
  }
  await store.run("deleteThread", () =>
    Promise.all([
      store.redis.zrem(store.keys.threads(), threadId),
      store.redis.zrem(store.keys.expiring(), threadId),
    ]),
  );
  return namespaces.length > 0;
}

/** RedisCheckpointer.sweep: takes threads whose TTL ran out off the thread index. */
export async function sweep(store: RedisStore, options: { batch?: number }): Promise<number> {
  const batch = resolveLimit(options.batch, "sweep.batch", DELETE_BATCH, 10_000);
  let removed = 0;
  for (;;) {
    const now = Date.now();
    const due = await store.run("sweep", () =>
      store.redis.zrangebyscore(store.keys.expiring(), "-inf", now, "LIMIT", 0, batch),
    );
    for (const threadId of due) removed += await sweepThread(store, threadId, now);
    if (due.length < batch) return removed;
  }
}

/** One due entry of the expiring set: 1 if its thread expired and left the index. */
async function sweepThread(store: RedisStore, threadId: string, now: number): Promise<number> {
  const index = [store.keys.threads(), store.keys.expiring()];
  const namespaces = store.keys.namespaces(threadId);
  if (!store.redis.isCluster) {
    // One server: one script sees the thread and the index at once.
    return (await store.run("sweep", () =>
      store.script("wpSweepThread", [...index, namespaces], [threadId, now]),
    )) as number;
  }
  // A cluster keeps the thread and the index on two slots: look, then act, then look again,
  // and put back a thread of that id that a writer without a TTL created in between.
  const expiry = () =>
    store.run("sweep", async () => Number(await store.redis.call("PEXPIRETIME", namespaces)));
  const removed = (await store.run("sweep", async () =>
    store.script("wpSweepThread", index, [threadId, now, await expiry()]),
  )) as number;
  if (removed === 1 && (await expiry()) !== -2) {
    await store.run("sweep", () => store.redis.zadd(store.keys.threads(), 0, threadId));
  }
  return removed;
}

export async function prune(store: RedisStore, options: PruneOptions): Promise<PruneResult> {
  checkPruneOptions(options);
  let deleted = 0;
  for await (const threadId of threadIds(store, options.threadId)) {
    for (const namespace of await store.run("prune", () =>
      store.redis.smembers(store.keys.namespaces(threadId)),
    )) {
      const keys = store.keys.of(threadId, namespace);
      const { headId, candidates } = await pruneCandidates(store, threadId, namespace);
      const doomed = pruneSelection(candidates, headId, options);
      for (let start = 0; start < doomed.length; start += DELETE_BATCH) {
        const batch = doomed.slice(start, start + DELETE_BATCH);
        deleted += (await store.run("prune", () =>
          store.script(
            "wpDeleteIds",
            [keys.cps, keys.idx],
            [keys.pw, `${store.keys.tag(threadId)}:pwk`, ...batch],
          ),
        )) as number;
      }
    }
  }
  return { deleted };
}

/** `only`, or every indexed thread, a page of the index at a time. */
async function* threadIds(store: RedisStore, only: string | undefined): AsyncGenerator<string> {
  if (only !== undefined) {
    yield only;
    return;
  }
  let after = "";
  for (;;) {
    const ids = await store.run("prune", () =>
      store.redis.zrangebylex(
        store.keys.threads(),
        after === "" ? "-" : `(${after}`,
        "+",
        "LIMIT",
        0,
        PAGE_SIZE,
      ),
    );
    yield* ids;
    if (ids.length < PAGE_SIZE) return;
    after = ids[ids.length - 1]!;
  }
}

/** A namespace's checkpoints as prune weighs them, read a page per script; and its head. */
async function pruneCandidates(store: RedisStore, threadId: string, namespace: string) {
  const keys = store.keys.of(threadId, namespace);
  const candidates: PruneCandidate[] = [];
  let after = "";
  for (;;) {
    const [headId, ids, headers] = (await store.run("prune", () =>
      store.script("wpHeaderPage", [keys.head, keys.cps, keys.idx], [after, PRUNE_PAGE]),
    )) as [string, string[], string[]];
    ids.forEach((id, i) => {
      // A checkpoint deleted between the index read and its header's: nothing to weigh.
      if (headers[i] === "") return;
      const { parentId, baseId, createdAt } = decodeRecordHeader(
        headers[i]!,
        threadId,
        namespace,
        id,
      );
      candidates.push({ id, parentId, baseId, createdAt });
    });
    if (ids.length < PRUNE_PAGE) return { headId, candidates };
    after = ids[ids.length - 1]!;
  }
}
