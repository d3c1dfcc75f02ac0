import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import { runCheckpointerConformance, runRunStoreConformance } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { runDeploySuite, runWorkerSuite } from "@waypoint/core/testing";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

// A fresh key prefix per test, on a real redis-server with no modules, started by the test setup.
const prefixes = new WeakMap<object, string>();
const fresh = {
  name: "redis",
  create: (options?: ConstructorParameters<typeof RedisCheckpointer>[0]) => {
    const prefix = `wp-${randomUUID().slice(0, 8)}`;
    const checkpointer = new RedisCheckpointer({ redis, prefix, ...options });
    prefixes.set(checkpointer, prefix);
    return checkpointer;
  },
  destroy: (checkpointer: { close(): Promise<void> }) => checkpointer.close(),
  // The run store's blocking read of its queue, killed from the server's side.
  dropWakeConnection: async (checkpointer: object) => {
    const name = `waypoint-run-wake:{${prefixes.get(checkpointer)}}:runs:queue`;
    for (let tries = 0; tries < 100; tries += 1) {
      const clients = (await redis.client("LIST")) as string;
      const id = /\bid=(\d+)/
        .exec(clients.split("\n").find((line) => line.includes(` name=${name} `)) ?? "")
        ?.at(1);
      if (id !== undefined) return void (await redis.client("KILL", "ID", id));
      await sleep(50);
    }
    throw new Error(`no connection named ${name}`);
  },
};

runCheckpointerConformance(fresh);
runRunStoreConformance(fresh);
// Runs, workers and control: the same suite as memory, SQLite and PostgreSQL.
runWorkerSuite(fresh);
// Threads written by one version of a graph, loaded by the next.
runDeploySuite(fresh);
