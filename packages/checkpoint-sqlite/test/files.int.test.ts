import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { UnsupportedFormatVersionError } from "@waypoint/checkpoint";
import { ThreadWriter, rebuild } from "@waypoint/checkpoint/testing";
import {
  DatabaseCorruptError,
  SCHEMA_VERSION,
  SqliteCheckpointer,
} from "@waypoint/checkpoint-sqlite";

const directory = mkdtempSync(join(tmpdir(), "waypoint-sqlite-files-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("SQLite files", () => {
  it("creates the file and its folder, in WAL mode with synchronous FULL by default", async () => {
    const file = join(directory, "nested", "deeper", "checkpoints.db");
    const checkpointer = new SqliteCheckpointer(file);
    await new ThreadWriter(checkpointer, "t").write({ log: 1 });
    await checkpointer.close();
    expect(existsSync(file)).toBe(true);
    const raw = new BetterSqlite3(file, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
  });

  it("sets synchronous as asked, and leaves a borrowed connection open", async () => {
    const db = new BetterSqlite3(join(directory, "borrowed.db"));
    const checkpointer = new SqliteCheckpointer(db, { synchronous: "NORMAL" });
    expect(db.pragma("synchronous", { simple: true })).toBe(1); // NORMAL
    await new ThreadWriter(checkpointer, "t").write({ log: 1 });
    await checkpointer.close();
    await checkpointer.close();
    expect(db.open).toBe(true);
    expect(db.prepare("SELECT count(*) AS n FROM waypoint_checkpoints").get()).toEqual({ n: 1 });
    db.close();
  });

  it("migrates once when many connections open a new file at the same time", async () => {
    const file = join(directory, "concurrent-open.db");
    const checkpointers = Array.from({ length: 8 }, () => new SqliteCheckpointer(file));
    await Promise.all(checkpointers.map((c, i) => new ThreadWriter(c, `t${i}`).write({ log: i })));
    expect((await checkpointers[0]!.listThreads()).threads).toHaveLength(8);
    await Promise.all(checkpointers.map((c) => c.close()));
  });

  it("adds the run queue to a file from before runs, keeping its checkpoints", async () => {
    const file = join(directory, "before-runs.db");
    const first = new SqliteCheckpointer(file);
    await new ThreadWriter(first, "kept").write({ log: "old" });
    await first.close();
    // Schema 1 is schema 2 without the runs table.
    const raw = new BetterSqlite3(file);
    raw.exec("DROP TABLE waypoint_runs");
    raw.pragma("user_version = 1");
    raw.close();
    const reopened = new SqliteCheckpointer(file);
    expect(rebuild((await reopened.get("kept"))!)).toEqual({ log: ["old"] });
    const run = await reopened.runs.create({ threadId: "kept", graph: "g", input: null });
    expect((await reopened.runs.claim({ workerId: "w", leaseMs: 1000 }))?.run.id).toBe(run.id);
    await reopened.close();
  });

  it("refuses a file written by a newer schema, without changing it", async () => {
    const file = join(directory, "newer.db");
    await new SqliteCheckpointer(file).close();
    const raw = new BetterSqlite3(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new SqliteCheckpointer(file)).toThrow(UnsupportedFormatVersionError);
    expect(() => new SqliteCheckpointer(file)).toThrow(
      new RegExp(`newer\\.db.*format version ${SCHEMA_VERSION + 1}`),
    );
    const after = new BetterSqlite3(file, { readonly: true });
    expect(after.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
    after.close();
  });

  it("gives a typed error for a file that is not a database", () => {
    const file = join(directory, "notes.txt");
    writeFileSync(file, "these are my notes, not a database ".repeat(200));
    const error = (() => {
      try {
        new SqliteCheckpointer(file);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(DatabaseCorruptError);
    expect((error as DatabaseCorruptError).code).toBe("DATABASE_CORRUPT");
    expect((error as Error).message).toContain("notes.txt");
  });

  it("gives a typed error, not a crash, for a truncated file", async () => {
    const file = join(directory, "truncated.db");
    const checkpointer = new SqliteCheckpointer(file, {
      snapshots: { minBytes: 1 << 20, maxChain: 1000 },
    });
    const writer = new ThreadWriter(checkpointer, "t");
    for (let step = 0; step < 200; step += 1) await writer.write({ log: "x".repeat(500) });
    await checkpointer.close(); // checkpoints the WAL into the main file
    truncateSync(file, Math.floor(statSync(file).size / 3));
    const outcome = await (async () => {
      const reopened = new SqliteCheckpointer(file);
      try {
        return rebuild((await reopened.get("t"))!);
      } finally {
        await reopened.close();
      }
    })().catch((thrown: unknown) => thrown);
    expect(outcome).toBeInstanceOf(DatabaseCorruptError);
  });
});
