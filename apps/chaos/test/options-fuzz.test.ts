/**
 * The public API's arguments fuzzed on memory and SQLite (see
 * options-fuzz/property.ts). FUZZ_RUNS sets the cases per store (default
 * 5,000: 10,000 in all in CI).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { fuzzPublicApi } from "./options-fuzz/property.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 5_000);

const dir = mkdtempSync(join(tmpdir(), "waypoint-options-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stores: readonly [string, () => Checkpointer][] = [
  ["memory", () => new MemoryCheckpointer()],
  ["sqlite", () => new SqliteCheckpointer(join(dir, "fuzz.db"))],
];

describe.each(stores)("public API options fuzz on %s", (_name, create) => {
  it(`${RUNS} calls end in a round-trip or a typed error that wrote nothing`, async () => {
    const checkpointer = create();
    try {
      await fuzzPublicApi(checkpointer, RUNS);
    } finally {
      await checkpointer.close();
    }
  }, 120_000);
});
