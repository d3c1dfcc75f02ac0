import type { PruneOptions, PruneResult } from "@waypoint/checkpoint";
import {
  assertId,
  checkPruneOptions,
  pruneSelection,
  resolveLimit,
  type PruneCandidate,
} from "@waypoint/checkpoint/backend";
import type { CheckpointStore } from "./database.js";
import { PAGE_SIZE, type NamespaceRow } from "./rows.js";

/** Deletion of threads and checkpoints: one thread, expired threads (TTL), old checkpoints. */

const DELETE_BATCH = 500;

export async function deleteThread(
  { db, sql }: CheckpointStore,
  threadId: string,
): Promise<boolean> {
  assertId(threadId, "threadId");
  // The heads go first, in one transaction: readers see the thread gone at once.
  const namespaces = await db.transaction("deleteThread", async (client) => {
    const rows = (await db.execute<NamespaceRow>(sql.namespacesOf, [threadId], client)).rows;
    await db.execute(sql.deleteHeads, [threadId], client);
    await db.execute(sql.deleteTtl, [threadId], client);
    return rows;
  });
  // Then the rows, in bounded batches, up to each old head (a thread made anew under the id is left alone).
  for (const { namespace, headId } of namespaces) {
    for (;;) {
      const ids = await db.query<{ id: string }>("deleteThread", sql.idsUpTo, [
        threadId,
        namespace,
        headId,
        DELETE_BATCH,
      ]);
      if (ids.length === 0) break;
      await db.query("deleteThread", sql.deleteIds, [
        threadId,
        namespace,
        ids.map((row) => row.id),
      ]);
    }
  }
  return namespaces.length > 0;
}

/** Deletes the threads whose TTL has passed, `batch` at a time; returns how many went. */
export async function sweep(store: CheckpointStore, options: { batch?: number }): Promise<number> {
  // A batch of 0 would never end the loop: refused with a typed error, as other limits are.
  const batch = resolveLimit(options.batch, "sweep.batch", 100, 10_000);
  let swept = 0;
  for (;;) {
    const expired = await store.db.query<{ threadId: string }>("sweep", store.sql.expired, [batch]);
    for (const { threadId } of expired) {
      await deleteThread(store, threadId);
      swept += 1;
    }
    if (expired.length < batch) return swept;
  }
}

export async function prune(store: CheckpointStore, options: PruneOptions): Promise<PruneResult> {
  checkPruneOptions(options);
  let deleted = 0;
  for await (const { threadId, namespace, headId } of namespaces(store, options.threadId)) {
    const candidates = await store.db.query<PruneCandidate>("prune", store.sql.pruneCandidates, [
      threadId,
      namespace,
    ]);
    const doomed = pruneSelection(candidates, headId, options);
    // Bounded batches, each its own short statement, so writers are never held up for long.
    for (let start = 0; start < doomed.length; start += DELETE_BATCH) {
      const rows = await store.db.query<{ deleted: number }>("prune", store.sql.deleteIds, [
        threadId,
        namespace,
        doomed.slice(start, start + DELETE_BATCH),
      ]);
      deleted += rows[0]?.deleted ?? 0;
    }
  }
  return { deleted };
}

/** Every (thread, namespace) with its head: of one thread, or of all, paged. */
async function* namespaces({ db, sql }: CheckpointStore, threadId: string | undefined) {
  if (threadId !== undefined) {
    yield* await db.query<NamespaceRow>("prune", sql.namespacesOf, [threadId]);
    return;
  }
  let cursor: [string, string] = ["", ""];
  for (;;) {
    const page = await db.query<NamespaceRow>("prune", sql.allNamespaces, [...cursor, PAGE_SIZE]);
    yield* page;
    if (page.length < PAGE_SIZE) return;
    const last = page[page.length - 1]!;
    cursor = [last.threadId, last.namespace];
  }
}
