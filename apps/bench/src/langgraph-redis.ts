import type { Redis } from "ioredis";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { WaypointSaver } from "@waypoint/langgraph-saver";
import { langGraphRunner } from "./langgraph-postgres.js";
import type { Runner, Shape } from "./workloads.js";

/**
 * The Redis suite's LangGraph.js side on WaypointSaver (issue 23): the same
 * graphs as Waypoint's, on a RedisCheckpointer. LangGraph's own RedisSaver
 * needs modules plain Redis lacks (the suite shows its error). Run in a child
 * process of its own (side-process.ts), as on PostgreSQL.
 */
export async function openLangGraphWaypointSaverRedis(redis: Redis, shape: Shape): Promise<Runner> {
  await redis.ping();
  return langGraphRunner(new WaypointSaver(new RedisCheckpointer({ redis })), shape);
}
