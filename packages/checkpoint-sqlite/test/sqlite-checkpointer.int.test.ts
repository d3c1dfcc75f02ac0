import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { runCheckpointerConformance, runRunStoreConformance } from "@waypoint/checkpoint/testing";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";

const directory = mkdtempSync(join(tmpdir(), "waypoint-sqlite-"));
let files = 0;
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// A real file per test, with the default settings (WAL, synchronous FULL).
const sqlite = {
  name: "sqlite",
  create: (options: ConstructorParameters<typeof SqliteCheckpointer>[1]) =>
    new SqliteCheckpointer(join(directory, `conformance-${++files}.db`), options),
};

runCheckpointerConformance(sqlite);
runRunStoreConformance(sqlite);
