import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import { runCheckpointerConformance } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

// A fresh key prefix per test, on a real redis-server with no modules, started by the test setup.
runCheckpointerConformance({
  name: "redis",
  create: (options) =>
    new RedisCheckpointer({ redis, prefix: `wp-${randomUUID().slice(0, 8)}`, ...options }),
  destroy: (checkpointer) => checkpointer.close(),
});
