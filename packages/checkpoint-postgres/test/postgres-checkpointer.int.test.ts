import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { runCheckpointerConformance } from "@waypoint/checkpoint/testing";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";

const pool = new pg.Pool({ connectionString: inject("pgUrl"), max: 20 });
afterAll(() => pool.end());

// A fresh schema per test, on a real PostgreSQL 15 started by the test setup.
runCheckpointerConformance({
  name: "postgres",
  create: async (options) => {
    const checkpointer = new PostgresCheckpointer({
      pool,
      schema: `wp_${randomUUID().slice(0, 8)}`,
      ...options,
    });
    await checkpointer.setup();
    return checkpointer;
  },
  destroy: async (checkpointer) => {
    await pool.query(
      `DROP SCHEMA IF EXISTS "${(checkpointer as PostgresCheckpointer).schema}" CASCADE`,
    );
    await checkpointer.close();
  },
});
