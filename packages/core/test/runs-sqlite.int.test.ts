import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { runWorkerSuite } from "@waypoint/core/testing";

const directory = mkdtempSync(join(tmpdir(), "waypoint-runs-"));
let files = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// Runs, workers and control on a real SQLite file: the same suite as memory, Postgres and Redis.
runWorkerSuite({
  name: "sqlite",
  create: () => new SqliteCheckpointer(join(directory, `runs-${++files}.db`)),
});
