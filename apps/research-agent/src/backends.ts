/**
 * Where the agent's checkpoints live. Swapping the backend is one line of
 * `openCheckpointer`; nothing in the graph changes.
 */
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join, relative } from "node:path";
import pg from "pg";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";

export const BACKENDS = ["memory", "sqlite", "postgres", "redis"] as const;
export type Backend = (typeof BACKENDS)[number];

/** A backend and a place in it: a SQLite file, a Postgres schema or a Redis key prefix. */
export interface Store {
  readonly backend: Backend;
  readonly location: string;
}

/** The store `pnpm demo` keeps its threads in, so `--thread <id>` finds them again. */
export function demoStore(backend: Backend, directory: string): Store {
  const location = {
    memory: "",
    sqlite: join(directory, "research-agent.db"),
    postgres: "research_agent",
    redis: "research-agent",
  }[backend];
  return { backend, location };
}

/** A store of its own for one crash test, so its workers find only its thread. */
export function freshStore(backend: Backend, directory: string): Store {
  const id = randomUUID().slice(0, 8);
  const location = {
    memory: "",
    sqlite: join(directory, `crash-${id}.db`),
    postgres: `research_crash_${id}`,
    redis: `research-crash-${id}`,
  }[backend];
  return { backend, location };
}

export function openCheckpointer({ backend, location }: Store): Checkpointer {
  switch (backend) {
    case "memory":
      return new MemoryCheckpointer();
    case "sqlite":
      return new SqliteCheckpointer(location);
    case "postgres":
      return new PostgresCheckpointer({ connectionString: urlOf("PG_URL"), schema: location });
    case "redis":
      return new RedisCheckpointer({ url: urlOf("REDIS_URL"), prefix: location });
  }
}

/** Deletes a crash test's store. */
export async function removeStore(store: Store, checkpointer: Checkpointer): Promise<void> {
  const { threads } = await checkpointer.listThreads();
  for (const thread of threads) await checkpointer.deleteThread(thread.threadId);
  await checkpointer.close();
  if (store.backend === "sqlite") {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(store.location + suffix, { force: true });
  }
  if (store.backend === "postgres") {
    const client = new pg.Client({ connectionString: urlOf("PG_URL") });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${store.location}" CASCADE`);
    await client.end();
  }
}

export function describeStore({ backend, location }: Store): string {
  return {
    memory: "in memory",
    sqlite: `SQLite (${relative(process.env.INIT_CWD ?? process.cwd(), location)})`,
    postgres: `Postgres (schema ${location})`,
    redis: `Redis (prefix ${location})`,
  }[backend];
}

/** The command that opens the inspector on a store (`waypoint inspect`, packages/cli); none for memory. */
export function inspectCommand({ backend, location }: Store): string | undefined {
  return {
    memory: undefined,
    sqlite: `pnpm waypoint inspect --store sqlite:${relative(process.env.INIT_CWD ?? process.cwd(), location)}`,
    postgres: `pnpm waypoint inspect --store "$PG_URL" --schema ${location}`,
    redis: `pnpm waypoint inspect --store "$REDIS_URL" --prefix ${location}`,
  }[backend];
}

function urlOf(variable: "PG_URL" | "REDIS_URL"): string {
  const url = process.env[variable];
  if (url === undefined || url === "") {
    throw new Error(`set ${variable} to use this backend (e.g. ${variable}=${example[variable]})`);
  }
  return url;
}

const example = {
  PG_URL: "postgres://postgres@127.0.0.1:5432/postgres",
  REDIS_URL: "redis://127.0.0.1:6379",
};
