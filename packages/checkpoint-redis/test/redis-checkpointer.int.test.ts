import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import { runCheckpointerConformance, runRunStoreConformance } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { runDeploySuite, runWorkerSuite } from "@waypoint/core/testing";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

// A fresh key prefix per test, on a real redis-server with no modules, started by the test setup.
const fresh = {
  name: "redis",
  create: (options?: ConstructorParameters<typeof RedisCheckpointer>[0]) =>
    new RedisCheckpointer({ redis, prefix: `wp-${randomUUID().slice(0, 8)}`, ...options }),
  destroy: (checkpointer: { close(): Promise<void> }) => checkpointer.close(),
};

runCheckpointerConformance(fresh);
runRunStoreConformance(fresh);
// Runs, workers and control: the same suite as memory, SQLite and PostgreSQL.
runWorkerSuite(fresh);
// Threads written by one version of a graph, loaded by the next.
runDeploySuite(fresh);
