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
  return { runs: checkpointer.runs, queue: `{${prefix}}:runs:queue` };
}

const claim = (runs: ReturnType<typeof store>["runs"], workerId = "w") =>
  runs.claim({ workerId, leaseMs: 60_000 });

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
