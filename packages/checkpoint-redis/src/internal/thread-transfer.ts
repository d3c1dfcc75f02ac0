import { ThreadExistsError, type ThreadExport } from "@waypoint/checkpoint";
import {
  assertId,
  threadExport,
  type EncodedCheckpoint,
  type EncodedPendingWrite,
} from "@waypoint/checkpoint/backend";
import type { CommandRunner } from "./command-runner.js";
import type { Keys } from "./keys.js";
import { decodePendingRecord, decodeRecord, encodeRecordHeader, recordLabel } from "./records.js";

/** A thread's expiry settings as the writing scripts take them: ttl in ms, and "1" to refresh on write. */
export type ThreadTtl = readonly [ttlMs: number, refresh: string];

/**
 * Adds a thread to the thread index (before its first checkpoint: a crash
 * in between leaves an empty entry, never an unlisted thread), and with a
 * TTL schedules a sweep to look at it when it may have expired.
 */
export function indexThread(
  runner: CommandRunner,
  keys: Keys,
  ttl: ThreadTtl,
  threadId: string,
): Promise<unknown> {
  const indexed = runner.redis.zadd(keys.threads(), 0, threadId);
  const [ttlMs] = ttl;
  if (ttlMs <= 0) return indexed;
  return Promise.all([indexed, runner.redis.zadd(keys.expiring(), Date.now() + ttlMs, threadId)]);
}

/** Every checkpoint and pending write of a thread, each namespace read by one script. */
export async function exportThread(
  runner: CommandRunner,
  keys: Keys,
  threadId: string,
): Promise<ThreadExport> {
  assertId(threadId, "threadId");
  const namespaces = await runner.run("exportThread", () =>
    runner.redis.smembers(keys.namespaces(threadId)),
  );
  const checkpoints: EncodedCheckpoint[] = [];
  const pendingWrites: EncodedPendingWrite[] = [];
  for (const namespace of namespaces) {
    const of = keys.of(threadId, namespace);
    const rows = (await runner.run(
      "exportThread",
      () => runner.script("wpExport", [of.cps, of.idx], [of.pw]),
      undefined,
      () => `thread ${JSON.stringify(threadId)}, namespace ${JSON.stringify(namespace)}`,
    )) as [string, string, string, string, string[]][];
    for (const [id, header, delta, snapshot, pending] of rows) {
      checkpoints.push(decodeRecord(header, delta, snapshot, threadId, namespace, id));
      const where = () => recordLabel(threadId, namespace, id);
      pendingWrites.push(...pending.map((text, index) => decodePendingRecord(text, where, index)));
    }
  }
  return threadExport(threadId, checkpoints, pendingWrites);
}

/** Writes a validated export as one script, unless the thread exists. */
export async function writeThread(
  runner: CommandRunner,
  keys: Keys,
  ttl: ThreadTtl,
  data: ThreadExport,
): Promise<void> {
  const threadId = data.threadId;
  const namespaces = [...new Set(data.checkpoints.map((c) => c.namespace))].map((namespace) => {
    const mine = data.checkpoints
      .filter((c) => c.namespace === namespace)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    return {
      namespace,
      keys: keys.of(threadId, namespace),
      head: mine[mine.length - 1]!.id,
      checkpoints: mine.map((checkpoint) => [
        checkpoint.id,
        encodeRecordHeader(checkpoint),
        checkpoint.writes,
        checkpoint.snapshot ?? "",
      ]),
      pending: data.pendingWrites
        .filter((w) => w.namespace === namespace)
        .map((w) => [w.checkpointId, `${w.taskId}\u0000${w.idx}`, JSON.stringify(w)]),
    };
  });
  await runner.run("importThread", () => indexThread(runner, keys, ttl, threadId));
  const written = await runner.run("importThread", () =>
    runner.script(
      "wpImport",
      [keys.namespaces(threadId)],
      [JSON.stringify(namespaces), keys.tag(threadId), ...ttl],
    ),
  );
  if (written === 0) throw new ThreadExistsError(threadId);
}
