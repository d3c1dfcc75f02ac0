import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ThreadWriter } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());
let prefixes = 0;
const prefix = () => `ttl-${process.pid}-${++prefixes}`;

async function expiries(tagPrefix: string): Promise<number[]> {
  const keys = await redis.keys(`{${tagPrefix}:t}*`);
  expect(keys.length).toBeGreaterThan(3);
  return Promise.all(keys.map(async (key) => Number(await redis.call("PEXPIRETIME", key))));
}

describe("a TTL per thread", () => {
  it("gives every key of the thread the same expiry, including keys made later", async () => {
    const p = prefix();
    const checkpointer = new RedisCheckpointer({
      redis,
      prefix: p,
      ttlSeconds: 60,
      refreshTtlOnWrite: false,
    });
    const writer = new ThreadWriter(checkpointer, "t");
    await writer.write({ log: 1 });
    const first = await expiries(p);
    expect(new Set(first).size).toBe(1);
    expect(first[0]).toBeGreaterThan(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writer.write({ log: 2 });
    await checkpointer.putPendingWrites({ threadId: "t", checkpointId: writer.head!.id }, [
      { taskId: "a", idx: 0, channel: "log", value: 3 },
    ]);
    await new ThreadWriter(checkpointer, "t", "child").write({ log: "sub" });
    await writer.write(
      { log: 4 },
      { pendingWrites: [{ taskId: "b", idx: 0, channel: "log", value: 4 }] },
    );
    const later = await expiries(p);
    // Without refresh, new keys (pending-writes hashes, also a put's, a namespace) join the thread's expiry unchanged.
    expect(new Set(later)).toEqual(new Set(first));
  });

  it("moves the whole thread's expiry on each write when refreshing", async () => {
    const p = prefix();
    const checkpointer = new RedisCheckpointer({ redis, prefix: p, ttlSeconds: 60 });
    const writer = new ThreadWriter(checkpointer, "t");
    await writer.write({ log: 1 });
    const [first] = await expiries(p);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await writer.write({ log: 2 });
    const later = await expiries(p);
    expect(new Set(later).size).toBe(1);
    expect(later[0]).toBeGreaterThan(first!);
  });

  it("lets the thread go whole: nothing of it is left, and it is no longer listed", async () => {
    const p = prefix();
    const checkpointer = new RedisCheckpointer({ redis, prefix: p, ttlSeconds: 0.3 });
    const writer = new ThreadWriter(checkpointer, "t");
    await writer.write({ log: 1 });
    await checkpointer.putPendingWrites({ threadId: "t", checkpointId: writer.head!.id }, [
      { taskId: "a", idx: 0, channel: "log", value: 2 },
    ]);
    expect((await checkpointer.listThreads()).threads.map((t) => t.threadId)).toEqual(["t"]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await redis.keys(`{${p}:t}*`)).toEqual([]);
    expect(await checkpointer.get("t")).toBeUndefined();
    expect((await checkpointer.listThreads()).threads).toEqual([]);
  });

  it("sweep() takes expired threads off the thread index, and only those", async () => {
    const p = prefix();
    const short = new RedisCheckpointer({ redis, prefix: p, ttlSeconds: 0.3 });
    const long = new RedisCheckpointer({ redis, prefix: p, ttlSeconds: 60 });
    const without = new RedisCheckpointer({ redis, prefix: p });
    await new ThreadWriter(short, "t").write({ log: 1 });
    await new ThreadWriter(long, "u").write({ log: 1 });
    await new ThreadWriter(without, "v").write({ log: 1 });
    expect(await short.sweep()).toBe(0); // nothing is due yet
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await redis.zscore(`{${p}}:threads`, "t")).not.toBeNull(); // the entry Redis cannot expire
    expect(await short.sweep()).toBe(1);
    expect(await redis.zrange(`{${p}}:threads`, "0", "-1")).toEqual(["u", "v"]);
    // "u" stays scheduled for when it expires; "v" never was.
    expect(await redis.zrange(`{${p}}:expiring`, "0", "-1")).toEqual(["u"]);
    expect((await long.listThreads()).threads.map((t) => t.threadId)).toEqual(["u", "v"]);
    expect(await short.sweep()).toBe(0);
  });

  it("reschedules a due thread that is still alive, and keeps one made again under the id", async () => {
    const p = prefix();
    const checkpointer = new RedisCheckpointer({ redis, prefix: p, ttlSeconds: 60 });
    await new ThreadWriter(checkpointer, "alive").write({ log: 1 });
    // Due by its schedule (as after writes that moved its expiry), but not expired.
    await redis.zadd(`{${p}}:expiring`, 1, "alive");
    expect(await checkpointer.sweep()).toBe(0);
    const expiry = Number(await redis.call("PEXPIRETIME", `{${p}:alive}:nss`));
    expect(Number(await redis.zscore(`{${p}}:expiring`, "alive"))).toBe(expiry);

    // An expired thread whose id a writer without a TTL used again before the sweep came.
    const short = new RedisCheckpointer({ redis, prefix: p, ttlSeconds: 0.1 });
    await new ThreadWriter(short, "again").write({ log: 1 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    await new ThreadWriter(new RedisCheckpointer({ redis, prefix: p }), "again").write({ log: 2 });
    expect(await short.sweep()).toBe(0);
    expect(await redis.zscore(`{${p}}:threads`, "again")).not.toBeNull();
    expect(await redis.zscore(`{${p}}:expiring`, "again")).toBeNull();
    const listed = (await checkpointer.listThreads()).threads.map((t) => t.threadId);
    expect(listed).toEqual(["again", "alive"]);
  });

  it("deleteThread forgets the thread's schedule; a batch that could never end is refused", async () => {
    const p = prefix();
    const checkpointer = new RedisCheckpointer({ redis, prefix: p, ttlSeconds: 60 });
    await new ThreadWriter(checkpointer, "t").write({ log: 1 });
    expect(await redis.zscore(`{${p}}:expiring`, "t")).not.toBeNull();
    await expect(checkpointer.sweep({ batch: 0 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      data: { argument: "sweep.batch" },
    });
    expect(await checkpointer.deleteThread("t")).toBe(true);
    expect(await redis.zscore(`{${p}}:expiring`, "t")).toBeNull();
    expect(await redis.zscore(`{${p}}:threads`, "t")).toBeNull();
  });
});
