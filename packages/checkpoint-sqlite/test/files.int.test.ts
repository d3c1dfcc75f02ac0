import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import {
  InvalidArgumentError,
  StorageUnavailableError,
  UnsupportedFormatVersionError,
} from "@waypoint/checkpoint";
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

/** What a call threw, or undefined. */
function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

describe("SQLite files are private to their owner", () => {
  it("creates the database, -wal and -shm files 0600, whatever the umask", async () => {
    const file = join(directory, "private", "checkpoints.db");
    const umask = process.umask(0o022); // the usual umask, which gave 0644
    try {
      const checkpointer = new SqliteCheckpointer(file);
      await new ThreadWriter(checkpointer, "t").write({ log: 1 });
      // Checked while open: the -wal and -shm files exist until the last connection closes.
      expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual(["600", "600", "600"]);
      await checkpointer.close();
    } finally {
      process.umask(umask);
    }
  });

  it("leaves the mode of an existing file as its owner set it", async () => {
    const file = join(directory, "shared.db");
    writeFileSync(file, "", { mode: 0o640 });
    const checkpointer = new SqliteCheckpointer(file);
    await new ThreadWriter(checkpointer, "t").write({ log: 1 });
    expect([mode(file), mode(`${file}-wal`)]).toEqual(["640", "640"]);
    await checkpointer.close();
  });
});

describe("a path that cannot hold a database", () => {
  it("gives INVALID_ARGUMENT naming the path when a folder in it is a regular file (ENOTDIR)", () => {
    const plain = join(directory, "plain-file");
    writeFileSync(plain, "not a folder");
    for (const file of [join(plain, "checkpoints.db"), join(plain, "deeper", "checkpoints.db")]) {
      const error = thrownBy(() => new SqliteCheckpointer(file));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ data: { argument: "database", path: file } });
      expect((error as Error).message).toContain(file);
    }
  });

  // EACCES (a folder without write permission) cannot be shown here: the
  // tests run as root, who may write anywhere. A read-only file system stops
  // root too; mounting one needs CAP_SYS_ADMIN, so the case is skipped without it.
  const readOnly = join(directory, "read-only");
  mkdirSync(readOnly);
  const mounted = (() => {
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", readOnly], {
        stdio: "ignore",
      });
      return true;
    } catch {
      return false;
    }
  })();
  afterAll(() => {
    if (mounted) execFileSync("umount", [readOnly]);
  });

  it.skipIf(!mounted)("gives INVALID_ARGUMENT naming the path on a read-only file system", () => {
    for (const file of [
      join(readOnly, "checkpoints.db"),
      join(readOnly, "sub", "checkpoints.db"),
    ]) {
      const error = thrownBy(() => new SqliteCheckpointer(file));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ data: { argument: "database", path: file } });
    }
  });
});

describe("SQLite busy past the busy timeout", () => {
  it("fails with STORAGE_UNAVAILABLE, writes nothing, and the thread goes on once the lock is free", async () => {
    const file = join(directory, "busy.db");
    const checkpointer = new SqliteCheckpointer(file, { busyTimeoutMs: 100 });
    const writer = new ThreadWriter(checkpointer, "t");
    await writer.write({ log: 0 });
    const other = new BetterSqlite3(file);
    other.exec("BEGIN IMMEDIATE"); // another connection holds the write lock
    const started = Date.now();
    const error = await writer.write({ log: 1 }).catch((thrown: unknown) => thrown);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect(error).toMatchObject({ code: "STORAGE_UNAVAILABLE", retryable: true });
    expect((error as Error).message).toContain("busy.db");
    other.exec("ROLLBACK");
    other.close();
    expect(rebuild((await checkpointer.get("t"))!)).toEqual({ log: [0] });
    await writer.write({ log: 1 });
    expect(rebuild((await checkpointer.get("t"))!)).toEqual({ log: [0, 1] });
    await checkpointer.close();
  });
});

describe("constructor arguments", () => {
  it("refuses a bad option or database with INVALID_ARGUMENT naming it, creating no file", () => {
    const file = join(directory, "never.db");
    const cases: [unknown, unknown, string][] = [
      [file, { busyTimeoutMs: -1 }, "options.busyTimeoutMs"],
      [file, { busyTimeoutMs: Number.NaN }, "options.busyTimeoutMs"],
      [file, { busyTimeoutMs: "5000" }, "options.busyTimeoutMs"],
      [file, { synchronous: "OFF" }, "options.synchronous"],
      [file, null, "options"],
      [42, {}, "database"],
    ];
    for (const [database, options, argument] of cases) {
      const error = thrownBy(
        () =>
          new SqliteCheckpointer(
            database as string,
            options as ConstructorParameters<typeof SqliteCheckpointer>[1],
          ),
      );
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ data: { argument } });
    }
    expect(existsSync(file)).toBe(false);
  });
});
