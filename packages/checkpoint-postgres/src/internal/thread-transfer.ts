import { ThreadExistsError, ThreadNotFoundError, type ThreadExport } from "@waypoint/checkpoint";
import {
  assertId,
  validateThreadExport,
  type EncodedCheckpoint,
  type EncodedPendingWrite,
  threadExport,
} from "@waypoint/checkpoint/backend";
import type { CheckpointStore } from "./database.js";
import { checkpointParams } from "./rows.js";

/** A thread copied under a new id, or exported and imported whole, each in one transaction. */

export async function copyThread(
  { db, sql }: CheckpointStore,
  fromThreadId: string,
  toThreadId: string,
): Promise<void> {
  assertId(fromThreadId, "fromThreadId");
  assertId(toThreadId, "toThreadId");
  await db.transaction("copyThread", async (client) => {
    if ((await db.execute(sql.threadExists, [fromThreadId], client)).rowCount === 0) {
      throw new ThreadNotFoundError(fromThreadId);
    }
    if ((await db.execute(sql.threadExists, [toThreadId], client)).rowCount !== 0) {
      throw new ThreadExistsError(toThreadId);
    }
    for (const statement of [sql.copyCheckpoints, sql.copyPending, sql.copyHeads]) {
      await db.execute(statement, [fromThreadId, toThreadId], client);
    }
  });
}

export async function exportThread(
  { db, sql }: CheckpointStore,
  threadId: string,
): Promise<ThreadExport> {
  assertId(threadId, "threadId");
  const [checkpoints, pendingWrites] = await db.transaction("exportThread", async (client) => [
    (await db.execute<EncodedCheckpoint>(sql.exportCheckpoints, [threadId], client)).rows,
    (await db.execute<EncodedPendingWrite>(sql.exportPending, [threadId], client)).rows,
  ]);
  return threadExport(threadId, checkpoints, pendingWrites);
}

export async function importThread(
  { db, sql, serializer }: CheckpointStore,
  data: ThreadExport,
): Promise<void> {
  const valid = validateThreadExport(data, serializer);
  await db.transaction("importThread", async (client) => {
    if ((await db.execute(sql.threadExists, [valid.threadId], client)).rowCount !== 0) {
      throw new ThreadExistsError(valid.threadId);
    }
    const sorted = [...valid.checkpoints].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const record of sorted) {
      await db.execute(sql.insertCheckpoint, checkpointParams(record), client);
      await db.execute(sql.upsertHead, [record.threadId, record.namespace, record.id], client);
    }
    for (const write of valid.pendingWrites) {
      await db.execute(
        sql.putPending,
        [
          write.threadId,
          write.namespace,
          write.checkpointId,
          [write.taskId],
          [write.idx],
          [write.formatVersion],
          [write.channel],
          [write.value],
        ],
        client,
      );
    }
  });
}
