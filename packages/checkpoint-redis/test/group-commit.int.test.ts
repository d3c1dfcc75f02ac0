import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { CheckpointConflictError, LeaseLostError } from "@waypoint/checkpoint";
import { ThreadWriter, collect } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { startRedis } from "@waypoint/test-services";

const shared = new Redis(inject("redisUrl"));
afterAll(() => shared.quit());

type Sent = { name: string; args: unknown[] };
/** A single put declares at most 5 keys (fenced, first of its namespace); a batch more. */
const isBatch = (command: Sent) => command.name === "evalsha" && Number(command.args[1]) > 5;

/**
 * Counts the script calls sent on a real connection (no MONITOR, nothing faked); `onBatch` may
 * take over sending a batch.
 */
function watch(redis: Redis, onBatch?: (send: () => void) => void) {
  const counts = { scripts: 0, batches: 0, commitChecks: 0 };
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => {
    const command = args[0] as unknown as Sent;
    if (command.name === "evalsha" || command.name === "eval") counts.scripts += 1;
    if (command.name === "hexists") counts.commitChecks += 1;
    if (isBatch(command)) {
      counts.batches += 1;
      if (onBatch !== undefined && counts.batches === 1) {
        onBatch(() => void send(...args));
        return (args[0] as unknown as { promise: Promise<unknown> }).promise;
      }
    }
    return send(...args);
  };
  return counts;
}

const fresh = (redis: Redis, groupCommit?: boolean) =>
  new RedisCheckpointer({
    redis,
    prefix: `gc-${randomUUID().slice(0, 8)}`,
    ...(groupCommit === undefined ? {} : { groupCommit }),
  });

/** Writers with a first checkpoint each (which also loads the scripts into Redis). */
async function threads(checkpointer: RedisCheckpointer, count: number) {
  const writers = Array.from({ length: count }, (_, i) => new ThreadWriter(checkpointer, `t${i}`));
  for (const writer of writers) await writer.write({ log: 0 });
  return writers;
}

/** The steps of a thread's checkpoints, oldest first. */
async function steps(checkpointer: RedisCheckpointer, threadId: string) {
  return (await collect(checkpointer.list(threadId))).map((h) => h.step).reverse();
}

describe("group commit of puts (standalone Redis)", () => {
  it("lands every put of many threads writing at once, in far fewer script calls", async () => {
    for (const groupCommit of [true, undefined]) {
      const redis = new Redis(inject("redisUrl"));
      const checkpointer = fresh(redis, groupCommit);
      const writers = Array.from({ length: 40 }, (_, i) => new ThreadWriter(checkpointer, `t${i}`));
      const counts = watch(redis);
      await Promise.all(
        writers.map(async (writer) => {
          for (let step = 0; step < 5; step += 1) await writer.write({ log: step });
        }),
      );
      const { scripts, batches } = counts;
      for (const writer of writers) {
        expect(await steps(checkpointer, writer.threadId)).toEqual([0, 1, 2, 3, 4]);
        expect((await checkpointer.get(writer.threadId))?.checkpoint.id).toBe(writer.head!.id);
      }
      expect((await checkpointer.listThreads()).threads).toHaveLength(40);
      // 200 puts: one script call each by default (off), a handful of batches with group commit.
      if (groupCommit) {
        expect(batches).toBeGreaterThan(0);
        expect(scripts).toBeLessThan(40);
      } else {
        expect(batches).toBe(0);
        expect(scripts).toBeGreaterThanOrEqual(200);
      }
      redis.disconnect();
    }
  });

  it("fails only the put of a batch that conflicts; the others commit", async () => {
    const redis = new Redis(inject("redisUrl"));
    const checkpointer = fresh(redis, true);
    const [first, ...rest] = await threads(checkpointer, 4);
    const old = rest[1]!.head!;
    const head = await rest[1]!.write({ log: 1 });
    const stale = ThreadWriter.fork(rest[1]!, old, { log: [0] });
    const counts = watch(redis);
    // The first put goes alone; the three that arrive meanwhile leave as one batch.
    const results = await Promise.allSettled([
      first!.write({ log: 1 }),
      rest[0]!.write({ log: 1 }),
      stale.write({ log: 9 }),
      rest[2]!.write({ log: 1 }),
    ]);
    expect(counts.batches).toBe(1);
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    const error = (results[2] as PromiseRejectedResult).reason as CheckpointConflictError;
    expect(error).toBeInstanceOf(CheckpointConflictError);
    expect(error.data.actualHeadId).toBe(head.id);
    expect(await steps(checkpointer, "t2")).toEqual([0, 1]);
    expect((await checkpointer.get("t2"))?.checkpoint.id).toBe(head.id);
    for (const threadId of ["t0", "t1", "t3"])
      expect(await steps(checkpointer, threadId)).toEqual([0, 1]);
    redis.disconnect();
  });

  it("fails only a stale fenced put of a batch, with LeaseLostError, and writes nothing of it", async () => {
    const redis = new Redis(inject("redisUrl"));
    const checkpointer = fresh(redis, true);
    const writers = await threads(checkpointer, 4);
    for (const writer of writers)
      await checkpointer.runs.create({ threadId: writer.threadId, graph: "g", input: 1 });
    const fences = new Map<string, { runId: string; token: number }>();
    for (let i = 0; i < 4; i += 1) {
      const claimed = (await checkpointer.runs.claim({ workerId: "w", leaseMs: 60_000 }))!;
      fences.set(claimed.run.threadId, claimed.fence);
    }
    const counts = watch(redis);
    const fenceOf = (threadId: string) => fences.get(threadId)!;
    const results = await Promise.allSettled(
      writers.map((writer, i) => {
        const fence = fenceOf(writer.threadId);
        // t2's worker lost its lease: another claim took the token past it.
        return writer.write(
          { log: 1 },
          { fence: i === 2 ? { ...fence, token: fence.token - 1 } : fence },
        );
      }),
    );
    expect(counts.batches).toBe(1);
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    expect(await steps(checkpointer, "t2")).toEqual([0]);
    for (const threadId of ["t0", "t1", "t3"])
      expect(await steps(checkpointer, threadId)).toEqual([0, 1]);
    redis.disconnect();
  });
});

/** How many script calls (EVALSHA, EVAL) the server ran. */
async function scriptsRun(admin: Redis): Promise<number> {
  const stats = await admin.info("commandstats");
  const calls = (name: string) =>
    Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls("evalsha") + calls("eval");
}

describe("group commit when the connection drops mid-batch", () => {
  /**
   * Four threads; the first put goes alone, the other three as one batch, which `drop` loses
   * with the connection (`send` sends it). Every put must end committed exactly once (a put
   * applied twice would fail its head check) or fail retryably.
   */
  async function dropBatch(
    drop: (
      connection: { redis: Redis; admin: Redis; id: string },
      send: () => void,
    ) => Promise<void>,
  ) {
    const server = await startRedis();
    const admin = new Redis(server.url);
    const redis = new Redis(server.url, {
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 2,
      commandTimeout: 5000,
    });
    try {
      const checkpointer = new RedisCheckpointer({ redis, groupCommit: true });
      const writers = await threads(checkpointer, 3);
      // Three puts at once: the last two as a batch, which loads the batch script into Redis.
      await Promise.all(writers.map((writer) => writer.write({ log: 1 })));
      writers.push(new ThreadWriter(checkpointer, "new")); // its first put writes the index too
      const id = String(await redis.client("ID"));
      let dropped: Promise<void> | undefined;
      const counts = watch(redis, (send) => {
        dropped = drop({ redis, admin, id }, send);
      });
      const before = await scriptsRun(admin);
      const results = await Promise.allSettled(writers.map((writer) => writer.write({ log: 2 })));
      await dropped;
      const sent = counts.scripts;
      const run = (await scriptsRun(admin)) - before;
      expect(counts.batches).toBe(1);
      for (const result of results) {
        if (result.status === "rejected")
          expect((result.reason as { retryable?: boolean }).retryable).toBe(true);
      }
      for (const [i, writer] of writers.entries()) {
        const all = writer.threadId === "new" ? [0] : [0, 1, 2];
        const written = results[i]!.status === "fulfilled";
        expect(await steps(checkpointer, writer.threadId)).toEqual(
          written ? all : all.slice(0, -1),
        );
      }
      expect((await checkpointer.listThreads()).threads.map((h) => h.threadId)).toContain("new");
      return { results, counts, sent, run };
    } finally {
      redis.disconnect();
      admin.disconnect();
      await server.stop();
    }
  }

  it("CLIENT KILL before the batch ran: each of its puts goes again alone and lands once", async () => {
    const { results, counts, sent, run } = await dropBatch(async ({ admin, id }, send) => {
      // Hold the batch in Redis (a script may write), kill its connection, let Redis go on.
      await admin.client("PAUSE", 10_000, "WRITE");
      send();
      while (!(await admin.info("clients")).includes("blocked_clients:1")) await sleep(5);
      await admin.client("KILL", "ID", id);
      await admin.client("UNPAUSE");
    });
    expect(results.map((r) => r.status)).toEqual(Array(4).fill("fulfilled"));
    expect(counts.commitChecks).toBe(3); // each put of the batch asked before going again
    expect(run).toBe(sent - 1); // the batch never ran
  });

  it("connection lost after Redis ran the batch: each put finds itself committed, none is applied twice", async () => {
    const { results, counts, sent, run } = await dropBatch(async ({ redis }, send) => {
      send();
      // The batch is on the wire; the client goes before it reads the reply.
      (redis as unknown as { stream: { destroy(): void } }).stream.destroy();
      await Promise.resolve();
    });
    expect(results.map((r) => r.status)).toEqual(Array(4).fill("fulfilled"));
    expect(counts.commitChecks).toBe(3);
    expect(run).toBe(sent); // the batch ran, and no put was sent again
  });
});
