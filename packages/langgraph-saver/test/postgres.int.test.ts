import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { WaypointSaver } from "../src/index.js";
import { runLangGraphValidation } from "./validation.js";

const pool = new pg.Pool({ connectionString: inject("pgUrl"), max: 10 });
afterAll(() => pool.end());

// A fresh schema per saver, on the real PostgreSQL the test setup starts.
runLangGraphValidation({
  checkpointerName: "WaypointSaver on PostgresCheckpointer",
  createCheckpointer: async () => {
    const checkpointer = new PostgresCheckpointer({
      pool,
      schema: `wp_lg_${randomUUID().slice(0, 8)}`,
    });
    await checkpointer.setup();
    return new WaypointSaver(checkpointer);
  },
  destroyCheckpointer: async (saver) => {
    const { schema } = saver.checkpointer as PostgresCheckpointer;
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await saver.checkpointer.close();
  },
});
