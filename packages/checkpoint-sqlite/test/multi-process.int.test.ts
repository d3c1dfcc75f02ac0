import { mkdtempSync, rmSync } from "node:fs";
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
