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
    const later = await expiries(p);
    // Without refresh, new keys (a pending-writes hash, a namespace) join the thread's expiry unchanged.
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
});
