import { rmSync } from "node:fs";
import pg from "pg";
import type { Checkpointer } from "@waypoint/checkpoint";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";

export const CHAOS_BACKENDS = ["sqlite", "postgres", "redis"] as const;
export type ChaosBackend = (typeof CHAOS_BACKENDS)[number];

/**
 * A store every worker process opens: a SQLite file, a Postgres schema or a
 * Redis key prefix, with the server's URL for the last two.
 */
export interface ChaosStore {
  readonly backend: ChaosBackend;
  readonly location: string;
  readonly url?: string;
}

export function openStore({ backend, location, url }: ChaosStore): Checkpointer {
  switch (backend) {
    case "sqlite":
      return new SqliteCheckpointer(location);
    case "postgres":
      return new PostgresCheckpointer({ connectionString: url!, schema: location });
    case "redis":
      return new RedisCheckpointer({ url: url!, prefix: location });
  }
}

/** Drops what a chaos run left: the file, the schema or the keys. */
export async function dropStore(store: ChaosStore, checkpointer: Checkpointer): Promise<void> {
  await checkpointer.close();
  if (store.backend === "sqlite") {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(store.location + suffix, { force: true });
  } else if (store.backend === "postgres") {
    const client = new pg.Client({ connectionString: store.url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${store.location}" CASCADE`);
    await client.end();
  }
  // Redis: each run has its own prefix on a throwaway server; nothing to drop.
}
