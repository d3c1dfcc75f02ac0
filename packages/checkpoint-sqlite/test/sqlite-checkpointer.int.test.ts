import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { runCheckpointerConformance } from "@waypoint/checkpoint/testing";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";

const directory = mkdtempSync(join(tmpdir(), "waypoint-sqlite-"));
let files = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// A real file per test, with the default settings (WAL, synchronous FULL).
runCheckpointerConformance({
  name: "sqlite",
  create: (options) =>
    new SqliteCheckpointer(join(directory, `conformance-${++files}.db`), options),
});
