import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ThreadWriter,
  runCheckpointerConformance,
  runRunStoreConformance,
} from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { runWorkerSuite } from "@waypoint/core/testing";
import { startRedisCluster, type RedisCluster } from "@waypoint/test-services";

// The same suites as on one server, on a real three-primary Redis Cluster: every script must touch
// one slot, and the steps that span slots (the thread index, the run queue) must hold up when
// their keys live on different nodes.
let server: RedisCluster;
let cluster: Cluster;

beforeAll(async () => {
  server = await startRedisCluster();
  cluster = new Cluster([...server.nodes]);
  await cluster.ping();
});

afterAll(async () => {
  await cluster?.quit();
  await server?.stop();
});

const fresh = {
  name: "redis cluster",
  create: (options?: ConstructorParameters<typeof RedisCheckpointer>[0]) =>
    new RedisCheckpointer({ redis: cluster, prefix: `wp-${randomUUID().slice(0, 8)}`, ...options }),
  destroy: (checkpointer: { close(): Promise<void> }) => checkpointer.close(),
};

describe("on a Redis Cluster", () => {
  runCheckpointerConformance(fresh);
  runRunStoreConformance(fresh);
  runWorkerSuite(fresh);

  it("sweep() takes expired threads off the index across slots, and only those", async () => {
    // On a cluster the index and a thread's keys live in different slots, so sweep looks,
    // removes, and looks again instead of running one script (internal/retention.ts).
    const p = `sweep-${randomUUID().slice(0, 8)}`;
    const short = new RedisCheckpointer({ redis: cluster, prefix: p, ttlSeconds: 0.3 });
    const long = new RedisCheckpointer({ redis: cluster, prefix: p, ttlSeconds: 60 });
    const without = new RedisCheckpointer({ redis: cluster, prefix: p });
    await new ThreadWriter(short, "gone").write({ log: 1 });
    await new ThreadWriter(short, "again").write({ log: 1 });
    await new ThreadWriter(long, "alive").write({ log: 1 });
    await new ThreadWriter(without, "kept").write({ log: 1 });
    await cluster.zadd(`{${p}}:expiring`, 1, "alive"); // due by its schedule, but not expired
    await sleep(500);
    // An expired thread whose id a writer without a TTL used again before the sweep came.
    await new ThreadWriter(without, "again").write({ log: 2 });

    expect(await short.sweep()).toBe(1);
    expect(await cluster.zrange(`{${p}}:threads`, "0", "-1")).toEqual(["again", "alive", "kept"]);
    expect(await cluster.zrange(`{${p}}:expiring`, "0", "-1")).toEqual(["alive"]);
    const expiry = Number(await cluster.call("PEXPIRETIME", `{${p}:alive}:nss`));
    expect(Number(await cluster.zscore(`{${p}}:expiring`, "alive"))).toBe(expiry);
    expect(await short.sweep()).toBe(0);
  });

  it("spread the suites' keys over every primary", async () => {
    // Otherwise the suites above would not have crossed nodes.
    const sizes = await Promise.all(cluster.nodes("master").map((node) => node.dbsize()));
    expect(sizes).toHaveLength(3);
    expect(sizes.every((size) => size > 0)).toBe(true);
  });
});
