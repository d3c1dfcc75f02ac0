import { mkdtempSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import BetterSqlite3 from "better-sqlite3";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ThreadWriter, collect, rebuild } from "@waypoint/checkpoint/testing";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { fileURLToPath } from "node:url";
import { ChildScript } from "@waypoint/test-services";

const WRITER = fileURLToPath(new URL("./fixtures/writer.ts", import.meta.url));

const directory = mkdtempSync(join(tmpdir(), "waypoint-sqlite-mp-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("several processes on one SQLite file", () => {
  it("writes different threads from two processes at the same time, losing nothing", async () => {
    const file = join(directory, "two-writers.db");
    const [threads, steps] = [3, 40];
    const children = ["a", "b"].map(
      (prefix) =>
        new ChildScript(WRITER, ["threads", file, prefix, String(threads), String(steps)]),
    );
    await Promise.all(children.map((child) => child.finish()));
    const checkpointer = new SqliteCheckpointer(file);
    for (const prefix of ["a", "b"]) {
      for (let i = 0; i < threads; i += 1) {
        const loaded = await checkpointer.get(`${prefix}-${i}`);
        expect(rebuild(loaded!)).toEqual({
          log: Array.from({ length: steps }, (_, s) => `${prefix}-${i}:${s}`),
        });
        expect(await collect(checkpointer.list(`${prefix}-${i}`))).toHaveLength(steps);
      }
    }
    expect((await checkpointer.listThreads()).threads).toHaveLength(2 * threads);
    await checkpointer.close();
  });

  it("opens a new file that another connection holds for a moment, instead of failing", async () => {
    // A new file is in rollback-journal mode until someone switches it to WAL. While another
    // connection holds it (as a second process does while it switches it), SQLite answers the
    // switch SQLITE_BUSY at once, without waiting on busy_timeout: opening must try again.
    const file = join(directory, "held.db");
    const holder = new BetterSqlite3(file);
    holder.exec("CREATE TABLE held (v)");
    holder.exec("BEGIN IMMEDIATE");
    holder.exec("INSERT INTO held VALUES (1)");
    const child = new ChildScript(WRITER, ["open", file, "opened"]);
    await child.waitFor((line) => line === "ready");
    child.send("go");
    await sleep(300);
    holder.exec("COMMIT");
    holder.close();
    await child.finish();
    const checkpointer = new SqliteCheckpointer(file);
    expect((await checkpointer.listThreads()).threads.map((t) => t.threadId)).toEqual(["opened"]);
    await checkpointer.close();
  });

  it("lets exactly one of several processes racing on one head win", async () => {
    const file = join(directory, "race.db");
    const checkpointer = new SqliteCheckpointer(file);
    const origin = new ThreadWriter(checkpointer, "raced");
    await origin.write({ log: "origin" });
    const children = Array.from(
      { length: 6 },
      () => new ChildScript(WRITER, ["race", file, "raced"]),
    );
    await Promise.all(children.map((child) => child.waitFor((line) => line === "ready")));
    for (const child of children) child.send("go");
    const outcomes = await Promise.all(
      children.map((child) => child.waitFor((line) => /^(won|conflict|error)/.test(line))),
    );
    await Promise.all(children.map((child) => child.finish()));
    const winners = outcomes.filter((line) => line.startsWith("won"));
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((line) => line === "conflict")).toHaveLength(children.length - 1);
    const history = await collect(checkpointer.list("raced"));
    expect(history.map((h) => h.id)).toEqual([winners[0]!.split(" ")[1], origin.head!.id]);
    await checkpointer.close();
  });
});

describe("several processes claiming runs from one SQLite file", () => {
  it("claims every run exactly once, and runs each thread's runs in order", async () => {
    const file = join(directory, "claims.db");
    const checkpointer = new SqliteCheckpointer(file);
    const [threads, runsPerThread] = [30, 4];
    const created: { id: string; threadId: string }[] = [];
    // Interleaved, so that a thread's next run is always queued behind other threads' runs.
    for (let round = 0; round < runsPerThread; round += 1) {
      for (let i = 0; i < threads; i += 1) {
        created.push(
          await checkpointer.runs.create({ threadId: `t-${i}`, graph: "g", input: round }),
        );
      }
    }
    const children = ["w1", "w2", "w3", "w4"].map(
      (workerId) => new ChildScript(WRITER, ["claim", file, workerId]),
    );
    await Promise.all(children.map((child) => child.waitFor((line) => line === "ready")));
    for (const child of children) child.send("go");
    await Promise.all(children.map((child) => child.waitFor((line) => line === "done")));
    await Promise.all(children.map((child) => child.finish()));

    const claims = children.flatMap((child) =>
      child.lines.filter((line) => line.startsWith("claimed ")).map((line) => line.split(" ")[1]),
    );
    expect(claims).toHaveLength(created.length);
    expect(new Set(claims)).toEqual(new Set(created.map((run) => run.id)));
    // Not one process doing all the work: the claims really raced.
    const busyChildren = children.filter((child) =>
      child.lines.some((l) => l.startsWith("claimed")),
    );
    expect(busyChildren.length).toBeGreaterThan(1);
    for (const run of await checkpointer.runs.list({ limit: 1000 })) {
      expect(run).toMatchObject({ status: "succeeded", attempts: 1, token: 1 });
    }
    // Each thread's log holds its runs in creation order: one run at a time, every fenced write kept.
    for (let i = 0; i < threads; i += 1) {
      const threadId = `t-${i}`;
      expect(rebuild((await checkpointer.get(threadId))!)).toEqual({
        log: created.filter((run) => run.threadId === threadId).map((run) => run.id),
      });
    }
    await checkpointer.close();
  });
});

describe("a writer killed with SIGKILL", () => {
  for (const afterWrites of [1, 25, 120]) {
    it(`leaves a file that opens cleanly, with the last acknowledged write as head (kill after ${afterWrites})`, async () => {
      const file = join(directory, `killed-${afterWrites}.db`);
      const child = new ChildScript(WRITER, ["burst", file, "burst"]);
      await child.waitFor((line) => line.startsWith(`ok ${afterWrites - 1} `));
      child.process.kill("SIGKILL");
      await child.exited;

      const acknowledged = child.lines
        .filter((l) => l.startsWith("ok "))
        .at(-1)!
        .split(" ");
      const attempted = child.lines
        .filter((l) => l.startsWith("attempt "))
        .at(-1)!
        .split(" ");
      const checkpointer = new SqliteCheckpointer(file);
      const head = await checkpointer.get("burst");
      // The head is the last write that returned, or the one in flight if its commit landed first.
      const [, step, id] = head!.checkpoint.id === attempted[2] ? attempted : acknowledged;
      expect(head!.checkpoint.id).toBe(id);
      expect(rebuild(head!)).toEqual({
        log: Array.from({ length: Number(step) + 1 }, (_, s) => s),
      });
      expect(Number(step)).toBeGreaterThanOrEqual(afterWrites - 1);
      expect(await collect(checkpointer.list("burst"))).toHaveLength(Number(step) + 1);
      const integrity = new (await import("better-sqlite3")).default(file, { readonly: true });
      expect(integrity.pragma("integrity_check", { simple: true })).toBe("ok");
      integrity.close();
      // And the thread carries on from there.
      const next = await checkpointer.put({
        checkpoint: {
          threadId: "burst",
          step: Number(step) + 1,
          channelVersions: {},
          versionsSeen: {},
          next: [],
          writes: [],
        },
        parent: head!.checkpoint,
        snapshot: () => ({}),
      });
      expect(next.parentId).toBe(id);
      await checkpointer.close();
    });
  }
});
