import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());
let prefixes = 0;

/** A store whose queue redelivers after 400 ms, and the name of its stream. */
function store() {
  const prefix = `runs-${process.pid}-${++prefixes}`;
  const checkpointer = new RedisCheckpointer({ redis, prefix, redeliverMs: 400 });
  return { runs: checkpointer.runs, queue: `{${prefix}}:runs:queue`, prefix };
}

const claim = (runs: ReturnType<typeof store>["runs"], workerId = "w") =>
  runs.claim({ workerId, leaseMs: 60_000 });

describe("the Redis run queue's consumers", () => {
  it("a claim deletes the consumer of a worker that died once its entries moved on, and only that one", async () => {
    const prefix = `runs-${process.pid}-consumers`;
    // Consumers with nothing pending are deleted after 10 x redeliverMs idle: 500 ms here.
    const { runs } = new RedisCheckpointer({ redis, prefix, redeliverMs: 50 });
    const queue = `{${prefix}}:runs:queue`;
    const consumers = async () => {
      const rows = (await redis.xinfo("CONSUMERS", queue, "workers")) as unknown[][];
      return rows
        .map((row) => ({ name: row[1] as string, pending: row[3] }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
    };
    const lost = await runs.create({ threadId: "a", graph: "g", input: 1 });
    await redis.xreadgroup("GROUP", "workers", "dead", "COUNT", 1, "STREAMS", queue, ">");
    // "holder" read the next run's entry and holds it while it idles as long as "dead".
    const held = await runs.create({ threadId: "b", graph: "g", input: 2 });
    await redis.xreadgroup("GROUP", "workers", "holder", "COUNT", 1, "STREAMS", queue, ">");
    await sleep(100);
    expect((await claim(runs, "live"))?.run.id).toBe(lost.id); // the oldest entry: "dead"'s
    expect(await consumers()).toEqual([
      { name: "dead", pending: 0 },
      { name: "holder", pending: 1 },
      { name: "live", pending: 1 },
    ]);
    await sleep(600);
    // The tidy comes first in the claim: "dead" goes, "holder" (still holding) stays; then the
    // claim takes over the held entry.
    expect((await claim(runs, "live"))?.run.id).toBe(held.id);
    expect((await consumers()).map((c) => c.name)).toEqual(["holder", "live"]);
  });
});

// Steps in two slots are not atomic: each test below loses the second step, as a process
// killed between the two would, and checks that a later claim repairs it in time.
describe("the Redis run queue after a process died between two steps", () => {
  it("a worker that read a run's entry and died: the run is claimed after redeliverMs", async () => {
    const { runs, queue } = store();
    const run = await runs.create({ threadId: "t", graph: "g", input: 1 });
    await redis.xreadgroup("GROUP", "workers", "dead", "COUNT", 1, "STREAMS", queue, ">");
    expect(await claim(runs)).toBeUndefined();
    await sleep(600);
    expect((await claim(runs))?.run.id).toBe(run.id);
  });

  it("a run ended but the next run of its thread was not queued: it is claimed after redeliverMs", async () => {
    const { runs, queue } = store();
    await runs.create({ threadId: "t", graph: "g", input: 1 });
    const second = await runs.create({ threadId: "t", graph: "g", input: 2 });
    const first = (await claim(runs, "w1"))!;
    expect(await claim(runs, "w2")).toBeUndefined(); // reads the second run's entry: its thread is busy
    await runs.finish(first.fence, { status: "succeeded" });
    // Drop the entry that finish queued for the second run, as if the worker died before sending it.
    const [newest] = await redis.xrevrange(queue, "+", "-", "COUNT", 1);
    await redis.xdel(queue, newest![0]);
    expect(await claim(runs, "w2")).toBeUndefined();
    await sleep(600);
    expect((await claim(runs, "w2"))?.run.id).toBe(second.id);
  });

  it("an entry whose run was never created is looked at again and does not block others", async () => {
    const { runs, queue } = store();
    const orphan = await redis.xadd(queue, "*", "r", "never-created", "t", "t0");
    const run = await runs.create({ threadId: "t1", graph: "g", input: 1 });
    expect((await claim(runs))?.run.id).toBe(run.id);
    // The orphan is still pending, rescheduled (not dropped: its create may still land).
    const pending = (await redis.xpending(queue, "workers", "-", "+", 10)) as [string][];
    expect(pending.map(([id]) => id)).toContain(orphan);
    expect(await runs.get("never-created")).toBeUndefined();
  });

  it("a stale fence is refused by the put script even on another thread's keys", async () => {
    const checkpointer = new RedisCheckpointer({ redis, prefix: `runs-${process.pid}-fence` });
    await checkpointer.runs.create({ threadId: "a", graph: "g", input: 1 });
    const taken = (await claim(checkpointer.runs))!;
    // The fence names a run of thread "a": the script on thread "b"'s slot finds no such run.
    const error = await checkpointer
      .putPendingWrites(
        { threadId: "b", checkpointId: "x" },
        [{ taskId: "t", idx: 0, channel: "c", value: 1 }],
        { fence: taken.fence },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "LEASE_LOST" });
  });
});

describe("RedisRunStore.prune", () => {
  /** A run id made `ago` ms ago, as newCheckpointId makes them. */
  const idOf = (ago: number) => {
    const hex = (Date.now() - ago).toString(16).padStart(12, "0");
    return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`;
  };

  it("walks only the ids made before the cutoff and an hour: a run ends after it is created", async () => {
    const { runs, prefix } = store();
    const run = await runs.cancel((await runs.create({ threadId: "t", graph: "g", input: 1 })).id);
    // Ended (as stored) long before it was created: only a walk past the bound would find it.
    await redis.hset(`{${prefix}:t}:run:${run.id}`, "ended", "1000");
    expect(await runs.prune({ endedBefore: new Date(2000) })).toEqual({ deleted: 0 });
    expect(await runs.get(run.id)).toBeDefined();
    expect(await runs.prune({ endedBefore: new Date() })).toEqual({ deleted: 1 });
    expect(await runs.get(run.id)).toBeUndefined();
    expect(await redis.zcard(`{${prefix}}:runs`)).toBe(0);
  });

  it("a prune that died between a run and its index entry: readers skip the entry, a later prune removes it", async () => {
    const { runs, prefix } = store();
    const index = `{${prefix}}:runs`;
    const run = await runs.cancel((await runs.create({ threadId: "t", graph: "g", input: 1 })).id);
    await redis.del(`{${prefix}:t}:run:${run.id}`);
    await redis.zrem(`{${prefix}:t}:runs`, run.id);
    const leftover = `${idOf(2 * 3_600_000)}\u0000t`;
    await redis.zadd(index, 0, leftover);
    expect(await runs.get(run.id)).toBeUndefined();
    expect(await runs.list()).toEqual([]);
    expect(await runs.list({ threadId: "t" })).toEqual([]);
    expect(await runs.prune({ endedBefore: new Date(Date.now() + 86_400_000) })).toEqual({
      deleted: 0,
    });
    // The old entry goes; the new one stays, as a create under way would have it.
    expect(await redis.zrange(index, "0", "-1")).toEqual([`${run.id}\u0000t`]);
  });
});
