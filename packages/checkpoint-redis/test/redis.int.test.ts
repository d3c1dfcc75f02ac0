import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ThreadWriter, collect } from "@waypoint/checkpoint/testing";
import { StorageUnavailableError } from "@waypoint/checkpoint";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { OUTAGE_STEPS, runThroughOutage } from "@waypoint/core/testing";
import { startRedis } from "@waypoint/test-services";

/** A real connection that counts the commands sent through it (nothing is faked). */
function counting(redis: Redis): () => number {
  let sent = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => ((sent += 1), send(...args));
  return () => sent;
}

describe("RedisCheckpointer", () => {
  it("prunes a page at a time: threads past the index's first page, and a thread longer than one script reads", async () => {
    const server = await startRedis();
    const redis = new Redis(server.url);
    try {
      // Every checkpoint a snapshot, so that each but the newest may go.
      const checkpointer = new RedisCheckpointer({ redis, snapshots: { maxChain: 1 } });
      for (let t = 0; t < 130; t += 1) {
        const writer = new ThreadWriter(checkpointer, `t${String(t).padStart(3, "0")}`);
        for (let i = 0; i < 3; i += 1) await writer.write({ log: i });
      }
      // 130 threads: more than one page (100) of the thread index.
      expect(await checkpointer.prune({ keepLast: 1 })).toEqual({ deleted: 260 });
      expect(await collect(checkpointer.list("t129"))).toHaveLength(1);

      const long = new ThreadWriter(checkpointer, "long");
      for (let i = 0; i < 1100; i += 1) await long.write({ log: i });
      const before = await checkpointer.get("long");
      // 1,100 checkpoints: three scripts' pages of headers, each script bounded.
      expect(await checkpointer.prune({ threadId: "long", keepLast: 3 })).toEqual({
        deleted: 1097,
      });
      expect((await collect(checkpointer.list("long"))).map((h) => h.id)).toHaveLength(3);
      expect(await checkpointer.get("long")).toEqual(before);
      await checkpointer.close();
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it("loads a long chain (a growing log, never rewritten in snapshots) in two round trips, at any checkpoint", async () => {
    const server = await startRedis();
    const redis = new Redis(server.url);
    try {
      const checkpointer = new RedisCheckpointer({ redis });
      const writer = new ThreadWriter(checkpointer, "long");
      writer.accumulating = new Set(["log"]);
      const ids: string[] = [];
      const states: Record<string, unknown>[] = [];
      for (let step = 0; step < 150; step += 1) {
        ids.push((await writer.write({ log: `entry ${step}`, last: step })).id);
        states.push({ ...writer.state });
      }
      expect(writer.snapshotCalls).toBe(1);
      await checkpointer.get("long"); // loads the scripts into Redis's cache
      const sent = counting(redis);
      for (const at of [0, 1, 63, 64, 65, 100, 149]) {
        const before = sent();
        const loaded = (await checkpointer.get("long", { checkpointId: ids[at] }))!;
        // The script, then (past INLINE_CHAIN records) one HMGET of the deltas.
        expect(sent() - before).toBe(at + 1 <= 64 ? 1 : 2);
        const values: Record<string, unknown> = { ...loaded.base.values };
        for (const delta of loaded.deltas)
          for (const write of delta.writes)
            values[write.channel] =
              write.channel === "log"
                ? [...((values.log as unknown[] | undefined) ?? []), write.value]
                : write.value;
        expect(values).toEqual(states[at]);
        expect(loaded.checkpoint.step).toBe(at);
        expect(loaded.deltas.map((delta) => delta.step)).toEqual(
          Array.from({ length: at }, (_, i) => i + 1),
        );
      }
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it("writes a superstep with one command and loads a checkpoint with one, with no modules loaded", async () => {
    const server = await startRedis();
    const redis = new Redis(server.url);
    try {
      expect(await redis.call("MODULE", "LIST")).toEqual([]);
      const checkpointer = new RedisCheckpointer({ redis });
      const sent = counting(redis);
      const writer = new ThreadWriter(checkpointer, "t");
      await writer.write({ log: 0 });
      await checkpointer.get("t"); // loads the scripts into Redis's cache
      const perPut: number[] = [];
      for (let step = 1; step < 20; step += 1) {
        const before = sent();
        await writer.write({ log: step });
        perPut.push(sent() - before);
      }
      expect(new Set(perPut)).toEqual(new Set([1]));
      const before = sent();
      const loaded = await checkpointer.get("t");
      expect(sent() - before).toBe(1);
      expect(loaded?.checkpoint.step).toBe(19);
      // Every key of the thread carries the same hash tag: one cluster slot.
      const keys = await redis.keys("*");
      const slots = new Set(
        keys.filter((k) => k.includes(":t}")).map((k) => /^\{[^}]*\}/.exec(k)?.[0]),
      );
      expect(slots).toEqual(new Set(["{waypoint:t}"]));
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it("gives up with a typed, retryable error when Redis stays away", async () => {
    const checkpointer = new RedisCheckpointer({ url: "redis://127.0.0.1:1", attempts: 2 });
    const error = await checkpointer.get("t").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).retryable).toBe(true);
    await checkpointer.close();
  });
});

describe("redis-server killed and restarted in the middle of a run (AOF, appendfsync always)", () => {
  it("ends, after a resume if needed, like an uninterrupted run", async () => {
    const server = await startRedis({ appendOnly: true });
    try {
      const checkpointer = new RedisCheckpointer({ url: server.url, attempts: 12 });
      const { outcome, values } = await runThroughOutage(checkpointer, async () => {
        await server.kill();
        await server.restart();
      });
      expect(values).toEqual({
        step: OUTAGE_STEPS,
        log: Array.from({ length: OUTAGE_STEPS }, (_, i) => i + 1),
      });
      const steps = (await collect(checkpointer.list("t"))).map((h) => h.step).reverse();
      expect(steps).toEqual(Array.from({ length: OUTAGE_STEPS + 1 }, (_, i) => i - 1));
      console.log(`redis restart: the run ${outcome}; ${steps.length} checkpoints`);
      await checkpointer.close();
    } finally {
      await server.stop();
    }
  });
});
