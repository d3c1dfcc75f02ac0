import type { PruneRunsOptions } from "@waypoint/checkpoint";
import { checkPruneRuns } from "@waypoint/checkpoint/backend";
import type { RedisAccess } from "./run-access.js";
import { FORGET_MS, type QueueOp, type RunQueue } from "./run-queue.js";
import type { RunReader } from "./run-reader.js";

/**
 * How far ahead of Redis's clock (which stamps endedAt) the clock of a client
 * that made a run id may be, for prune's walk. A run from a client further
 * ahead is left to a later prune, whose cutoff has caught up with its id.
 */
const SKEW_MS = 60 * 60_000;

/**
 * RedisRunStore's `prune`. Walks the run index oldest first, a page of
 * `batch` entries at a time, up to the ids made by cutoff + SKEW_MS (an id
 * starts with its creation time, and a run ends after it is created): each
 * page's runs are deleted by one script per thread, which checks status and
 * endedAt itself, then their index entries. In that order: a crash in between
 * leaves index entries without a run, which readers skip and a later prune
 * removes.
 */
export async function pruneRuns(
  access: RedisAccess,
  reader: RunReader,
  queue: RunQueue,
  options: PruneRunsOptions,
): Promise<{ readonly deleted: number }> {
  const { cutoff, batch } = checkPruneRuns(options);
  const { keys, redis } = access;
  const max = idsBefore(cutoff + SKEW_MS);
  // An entry without a run whose id is this old is a leftover, not a create still under way.
  const leftoverBefore = Math.min(cutoff, Date.now()) - FORGET_MS;
  let deleted = 0;
  let after = "";
  for (;;) {
    const members = await access.run("runs.prune", () =>
      redis.zrangebylex(keys.runIndex(), after === "" ? "-" : `(${after}`, max, "LIMIT", 0, batch),
    );
    const byThread = new Map<string, string[]>();
    for (const member of members) {
      const threadId = member.slice(member.indexOf("\u0000") + 1);
      const group = byThread.get(threadId);
      if (group === undefined) byThread.set(threadId, [member]);
      else group.push(member);
    }
    const done: string[] = [];
    const ops: QueueOp[] = [];
    await Promise.all(
      [...byThread].map(async ([threadId, group]) => {
        const runIds = group.map((member) => member.slice(0, member.indexOf("\u0000")));
        // Sent again after a dropped connection, runs the first send deleted come back as gone
        // (-1): not counted, and their entries are left to a later prune unless old enough now.
        const [codes, next] = (await access.run("runs.prune", () =>
          access.script(
            "wpRunPrune",
            [keys.threadRuns(threadId), keys.activeRuns(threadId)],
            [keys.tag(threadId), cutoff, ...runIds],
          ),
        )) as [number[], string];
        codes.forEach((code, index) => {
          if (code === 1) {
            deleted += 1;
            reader.forget(runIds[index]!);
          }
          if (code === 1 || (code === -1 && idTime(runIds[index]!) < leftoverBefore)) {
            done.push(group[index]!);
          }
        });
        if (next !== "") ops.push(["add", next, threadId]);
      }),
    );
    if (done.length > 0) {
      await access.run("runs.prune", () => redis.zrem(keys.runIndex(), ...done));
    }
    if (ops.length > 0) await queue.apply(ops);
    if (members.length < batch) return { deleted };
    after = members[members.length - 1]!;
  }
}

/** ZRANGEBYLEX's bound below every run index entry whose run id was made at or after `ms`. */
function idsBefore(ms: number): string {
  // Run ids are UUIDv7 (newCheckpointId): 12 hex digits of ms, a dash after the first 8.
  if (ms >= 2 ** 48) return "+";
  const hex = Math.max(0, ms).toString(16).padStart(12, "0");
  return `(${hex.slice(0, 8)}-${hex.slice(8)}`;
}

/** The ms a run id was made at (Infinity if it is not a UUIDv7). */
function idTime(runId: string): number {
  const time = /^([0-9a-f]{8})-([0-9a-f]{4})-/.exec(runId);
  return time === null ? Infinity : Number.parseInt(time[1]! + time[2]!, 16);
}
