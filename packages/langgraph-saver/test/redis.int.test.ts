import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { WaypointSaver } from "../src/index.js";
import { runLangGraphValidation } from "./validation.js";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

// A fresh key prefix per saver, on the real redis-server (no modules) the test setup starts.
runLangGraphValidation({
  checkpointerName: "WaypointSaver on RedisCheckpointer",
  createCheckpointer: () =>
    new WaypointSaver(
      new RedisCheckpointer({ redis, prefix: `wp-lg-${randomUUID().slice(0, 8)}` }),
    ),
  destroyCheckpointer: (saver) => saver.checkpointer.close(),
});
