import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { StorageUnavailableError } from "@waypoint/checkpoint";
import { ThreadWriter } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { OUTAGE_STEPS, runThroughOutage } from "@waypoint/core/testing";
import { freePort, startRedis, type RedisServer } from "@waypoint/test-services";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The redis-server process's id, for SIGSTOP and SIGCONT. */
async function pidOf(server: RedisServer): Promise<number> {
  const redis = new Redis(server.url);
  try {
    return Number(/process_id:(\d+)/.exec(await redis.info("server"))![1]);
  } finally {
    redis.disconnect();
  }
}

/** The error a call ends with, and how long it took. */
async function timed(call: () => Promise<unknown>): Promise<[unknown, number]> {
  const start = Date.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return [error, Date.now() - start];
}

const uninterrupted = {
  step: OUTAGE_STEPS,
  log: Array.from({ length: OUTAGE_STEPS }, (_, i) => i + 1),
};

describe("Redis outages end in bounded time", () => {
  it("with the defaults, a dead and a frozen server give STORAGE_UNAVAILABLE within 10 s, and the thread goes on after", async () => {
    const server = await startRedis();
    const pid = await pidOf(server);
    const dead = new RedisCheckpointer({ url: `redis://127.0.0.1:${await freePort()}` });
    const frozen = new RedisCheckpointer({ url: server.url });
    const writer = new ThreadWriter(frozen, "t");
    await writer.write({ log: 1 });
    process.kill(pid, "SIGSTOP");
    try {
      const outcomes = await Promise.all([
        timed(() => dead.get("t")),
        timed(() => writer.write({ log: 2 })),
        timed(() => frozen.get("t")),
      ]);
      console.log(
        `redis outage, defaults: dead, frozen put, frozen get after ${outcomes.map(([, ms]) => ms).join(", ")} ms`,
      );
      for (const [error, ms] of outcomes) {
        expect(error).toBeInstanceOf(StorageUnavailableError);
        expect(ms).toBeLessThan(10_000);
      }
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // The put given up may have been applied once Redis woke: either way the thread reads whole.
    const head = await frozen.get("t");
    expect([0, 1]).toContain(head?.checkpoint.step);
    await Promise.all([dead.close(), frozen.close()]);
    await server.stop();
  });

  // runThroughOutage waits for the outage before it handles the run's failure, so each outage
  // here starts, schedules its end and returns: the run fails while the server is away, and its
  // resume waits for the server to come back.
  it("a server frozen (SIGSTOP) mid-run: the run fails typed within timeoutMs, then resumes to an uninterrupted run's state", async () => {
    const server = await startRedis();
    const pid = await pidOf(server);
    const checkpointer = new RedisCheckpointer({ url: server.url, timeoutMs: 1500 });
    let probe: Promise<[unknown, number]> | undefined;
    let woken: Promise<void> | undefined;
    try {
      const { outcome, values } = await runThroughOutage(checkpointer, () => {
        process.kill(pid, "SIGSTOP");
        probe = timed(() => checkpointer.get("t"));
        woken = sleep(2200).then(() => void process.kill(pid, "SIGCONT"));
        return Promise.resolve();
      });
      const [error, ms] = await probe!;
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect(ms).toBeLessThan(1500 + 500);
      expect(outcome).toBe("failed");
      expect(values).toEqual(uninterrupted);
    } finally {
      await woken;
      process.kill(pid, "SIGCONT");
      await checkpointer.close();
      await server.stop();
    }
  });

  it("a server stopped, then started again after timeoutMs, mid-run: the run fails typed, then resumes to an uninterrupted run's state", async () => {
    const server = await startRedis({ appendOnly: true });
    // A borrowed connection that reconnects every 50 ms, so the resume finds the server soon.
    const redis = new Redis(server.url, {
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 2,
      commandTimeout: 1000,
      retryStrategy: () => 50,
    });
    redis.on("error", () => undefined);
    const checkpointer = new RedisCheckpointer({ redis, timeoutMs: 2000 });
    let probe: Promise<[unknown, number]> | undefined;
    let restarted: Promise<void> | undefined;
    try {
      const { outcome, values } = await runThroughOutage(checkpointer, async () => {
        await server.kill();
        probe = timed(() => checkpointer.get("t"));
        restarted = sleep(2800).then(() => server.restart());
      });
      const [error, ms] = await probe!;
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect(ms).toBeLessThan(2000 + 500);
      expect(outcome).toBe("failed");
      expect(values).toEqual(uninterrupted);
    } finally {
      await restarted;
      redis.disconnect();
      await server.stop();
    }
  });

  it("Redis out of memory (maxmemory, noeviction): a put gets STORAGE_UNAVAILABLE saying so; the thread stays readable and goes on once memory is free", async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    const checkpointer = new RedisCheckpointer({ redis: admin, prefix: "oom" });
    try {
      const writer = new ThreadWriter(checkpointer, "t");
      await writer.write({ log: 1 });
      const before = await checkpointer.get("t");
      const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))![1]);
      await admin.config("SET", "maxmemory-policy", "noeviction");
      await admin.config("SET", "maxmemory", String(used - 1024));
      const [error] = await timed(() => writer.write({ log: "x".repeat(10_000) }));
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect((error as Error).message).toMatch(/out of memory/);
      const [newThread] = await timed(() => new ThreadWriter(checkpointer, "u").write({ log: 1 }));
      expect(newThread).toBeInstanceOf(StorageUnavailableError);
      expect(await checkpointer.get("t")).toEqual(before);
      expect((await checkpointer.listThreads()).threads.map((t) => t.threadId)).toEqual(["t"]);
      await admin.config("SET", "maxmemory", "0");
      await writer.write({ log: 2 });
      expect((await checkpointer.get("t"))?.checkpoint.step).toBe(1);
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });
});
