import type { Checkpointer } from "@waypoint/checkpoint";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";

/** The Waypoint store a test names: a PostgreSQL schema or a Redis key prefix. */
export async function openStore(
  backend: "postgres" | "redis",
  url: string,
  scope: string,
): Promise<Checkpointer> {
  if (backend === "redis") return new RedisCheckpointer({ url, prefix: scope });
  const store = new PostgresCheckpointer({ connectionString: url, schema: scope });
  await store.setup();
  return store;
}
