import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, inject } from "vitest";
import type { Checkpointer, CheckpointerOptions } from "@waypoint/checkpoint";
import { runCheckpointerConformance, runRunStoreConformance } from "@waypoint/checkpoint/testing";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { runDeploySuite, runWorkerSuite } from "@waypoint/core/testing";

const pool = new pg.Pool({ connectionString: inject("pgUrl"), max: 20 });
afterAll(() => pool.end());

// A fresh schema per test, on a real PostgreSQL 15 started by the test setup.
const store = {
  name: "postgres",
  create: async (options: CheckpointerOptions = {}) => {
    const checkpointer = new PostgresCheckpointer({
      pool,
      schema: `wp_${randomUUID().slice(0, 8)}`,
      ...options,
    });
    await checkpointer.setup();
    return checkpointer;
  },
  destroy: async (checkpointer: Checkpointer) => {
    await pool.query(
      `DROP SCHEMA IF EXISTS "${(checkpointer as PostgresCheckpointer).schema}" CASCADE`,
    );
    await checkpointer.close();
  },
  // The run store's LISTEN connection, terminated from the server's side.
  dropWakeConnection: async (checkpointer: Checkpointer) => {
    const listen = `LISTEN "waypoint_runs:${(checkpointer as PostgresCheckpointer).schema}"`;
    for (let tries = 0; tries < 100; tries += 1) {
      const { rows } = await pool.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE query = $1`,
        [listen],
      );
      if (rows.some((row) => row.ended)) return;
      await sleep(50);
    }
    throw new Error(`no connection ran ${listen}`);
  },
};

runCheckpointerConformance(store);
runRunStoreConformance(store);
// Runs, workers and control on PostgreSQL: the same suite as memory, SQLite and Redis.
runWorkerSuite(store);
// Threads written by one version of a graph, loaded by the next.
runDeploySuite(store);
