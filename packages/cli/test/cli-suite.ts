/**
 * Every command in human and --json form, run on one backend. The SQLite,
 * PostgreSQL and Redis test files each run it on their own store; what only
 * one backend has (a schema version, a file) stays in that backend's file.
 */
import type { Checkpointer } from "@waypoint/checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./cli-harness.js";
import { fillStore, type Filled } from "./fill-store.js";

export interface CliStore {
  readonly name: string;
  /** A fresh, empty store: the CLI's store arguments and a checkpointer on the same store. */
  create(): Promise<{ readonly args: readonly string[]; readonly checkpointer: Checkpointer }>;
}

interface ThreadRow {
  threadId: string;
  status: string;
  step: number;
}

interface Shown {
  status: string;
  step: number;
  next: string[];
  values: Record<string, unknown>;
  unreplayed: Record<string, { kind: string; base: unknown; writes: { value: unknown }[] }>;
  tasks: { node: string; status: string; error?: { message: string } }[];
  interrupts: { node: string; value: unknown }[];
  effects: {
    name: string;
    ok: boolean;
    result: unknown;
    idempotencyKey: string;
    scope?: string;
  }[];
  pendingToolCalls: { toolCallId: string; result: unknown }[];
  partials: { node: string; value: unknown }[];
  graph: { name: string; version: number };
}

export function runCliSuite(store: CliStore): void {
  describe(`waypoint CLI on ${store.name}`, () => {
    let args: readonly string[];
    let checkpointer: Checkpointer;
    let filled: Filled;
    const run = (...command: string[]) => cli([...command, ...args]);

    beforeAll(async () => {
      ({ args, checkpointer } = await store.create());
      filled = await fillStore(checkpointer);
    });
    afterAll(() => checkpointer.close());

    it("threads lists each thread with its status, as a table and as JSON", async () => {
      const human = await run("threads");
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^THREAD\s+STATUS\s+STEP\s+UPDATED\s+HEAD/);
      expect(human.stdout).toMatch(/t-interrupted\s+interrupted\s+0\s+(\d+ s ago|just now)/);
      expect(human.stdout).not.toContain("\u001b[");
      const json = await run("threads", "--json");
      expect(json.code).toBe(0);
      const { threads, nextCursor } = json.json<{ threads: ThreadRow[]; nextCursor: unknown }>();
      expect(Object.fromEntries(threads.map((t) => [t.threadId, t.status]))).toEqual({
        [filled.failed]: "failed",
        [filled.finished]: "finished",
        [filled.interrupted]: "interrupted",
      });
      expect(nextCursor).toBeNull();
    });

    it("threads filters by status and head metadata, and pages with --limit and --after", async () => {
      const interrupted = (await run("threads", "--status", "interrupted", "--json")).json<{
        threads: ThreadRow[];
      }>();
      expect(interrupted.threads.map((t) => t.threadId)).toEqual([filled.interrupted]);
      const both = (await run("threads", "--status", "failed,finished", "--json")).json<{
        threads: ThreadRow[];
      }>();
      expect(both.threads.map((t) => t.threadId)).toEqual([filled.failed, filled.finished]);
      const ada = (await run("threads", "--metadata", "user=ada", "--json")).json<{
        threads: ThreadRow[];
      }>();
      expect(ada.threads.map((t) => t.threadId)).toEqual([filled.interrupted]);
      const first = await run("threads", "--limit", "2");
      expect(first.stdout).toContain(`More: --after ${filled.finished}`);
      const page = (await run("threads", "--limit", "2", "--json")).json<{
        threads: ThreadRow[];
        nextCursor: string;
      }>();
      expect(page.threads).toHaveLength(2);
      const rest = (await run("threads", "--after", page.nextCursor, "--json")).json<{
        threads: ThreadRow[];
        nextCursor: unknown;
      }>();
      expect(rest.threads.map((t) => t.threadId)).toEqual([filled.interrupted]);
      expect(rest.nextCursor).toBeNull();
    });

    it("show decodes the interrupted head: state, next, interrupts, effects with keys, tool calls, partials", async () => {
      const result = await run("show", filled.interrupted, "--json");
      expect(result.code).toBe(0);
      const shown = result.json<Shown>();
      expect(shown.status).toBe("interrupted");
      expect(shown.graph).toMatchObject({ name: "essay", version: 2 });
      expect(shown.values).toEqual({ topic: "owls", draft: "draft of owls" });
      expect(shown.unreplayed.count).toMatchObject({ kind: "reducer", base: 0 });
      expect(shown.unreplayed.count!.writes.map((w) => w.value)).toEqual([1]);
      expect(shown.unreplayed.log!.writes.map((w) => w.value)).toEqual(["write"]);
      expect(shown.next).toEqual(["review"]);
      expect(shown.tasks).toMatchObject([{ node: "review", status: "interrupted" }]);
      expect(shown.interrupts).toMatchObject([
        { node: "review", value: { question: "approve the draft?" } },
      ]);
      const [notify, tool] = shown.effects;
      expect(notify).toMatchObject({ name: "notify", ok: true });
      // The effect returned the key it was given: the key shown is the one the outside system saw.
      expect(notify!.idempotencyKey).toBe(notify!.result);
      expect(tool).toMatchObject({ name: "tool:call-1", result: { weather: "sunny" } });
      // An effect made inside another (its record has a scope): the key shown is the one it got.
      const inner = shown.effects.find((effect) => effect.name === "inner");
      expect(inner).toMatchObject({ scope: "2", ok: true });
      expect(inner!.idempotencyKey).toBe(inner!.result);
      expect(shown.pendingToolCalls).toMatchObject([
        { toolCallId: "call-1", result: { weather: "sunny" } },
      ]);
      expect(shown.partials).toMatchObject([{ node: "review", value: "half a review" }]);

      const human = await run("show", filled.interrupted);
      expect(human.stdout).toContain(`Thread ${filled.interrupted}  interrupted`);
      expect(human.stdout).toMatch(/next\s+review/);
      expect(human.stdout).toMatch(/draft\s+"draft of owls"/);
      expect(human.stdout).toContain("Pending interrupts");
      expect(human.stdout).toContain('{"question":"approve the draft?"}');
      expect(human.stdout).toContain(notify!.idempotencyKey);
      expect(human.stdout).toMatch(/call-1\s+review\s+\{"weather":"sunny"\}/);
      expect(human.stdout).toContain('"half a review"');
    });

    it("show --checkpoint reads an older checkpoint; show of a failed thread names the error", async () => {
      const history = (await run("history", filled.finished, "--json")).json<{
        checkpoints: { id: string; step: number }[];
      }>();
      const first = history.checkpoints.at(-1)!;
      const old = (
        await run("show", filled.finished, "--checkpoint", first.id, "--json")
      ).json<Shown>();
      expect(old.step).toBe(-1);
      expect(old.values).toEqual({ topic: "bats", count: 0 });
      expect(old.next).toEqual(["write"]);
      const finished = (await run("show", filled.finished, "--json")).json<Shown>();
      expect(finished).toMatchObject({ status: "finished", next: [], interrupts: [], effects: [] });
      expect(finished.values).toMatchObject({ approved: true, draft: "draft of bats" });
      const failed = (await run("show", filled.failed, "--json")).json<Shown>();
      expect(failed.tasks).toMatchObject([
        { node: "boom", status: "failed", error: { message: "the model refused" } },
      ]);
      expect((await run("show", filled.failed)).stdout).toMatch(
        /boom\s+failed\s+.*the model refused/,
      );
    });

    it("show, history and diff of a missing thread or checkpoint are Waypoint errors (exit 1)", async () => {
      for (const command of [
        ["show", "no-such-thread"],
        ["history", "no-such-thread"],
      ]) {
        const result = await run(...command);
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(
          'error THREAD_NOT_FOUND: Thread "no-such-thread" has no checkpoints.\n',
        );
        expect(result.stdout).toBe("");
      }
      const missing = await run(
        "show",
        filled.finished,
        "--checkpoint",
        "01a00000-0000-7000-8000-000000000000",
      );
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^error CHECKPOINT_NOT_FOUND: /);
    });

    it("history lists checkpoints newest first and pages with --limit and --before", async () => {
      const all = (await run("history", filled.finished, "--json")).json<{
        checkpoints: { id: string; step: number; source: string; next: string[] }[];
        nextBefore: unknown;
      }>();
      expect(all.checkpoints.map((c) => [c.step, c.source, c.next])).toEqual([
        [1, "loop", []],
        [0, "loop", ["review"]],
        [-1, "input", ["write"]],
      ]);
      expect(all.nextBefore).toBeNull();
      const page = (await run("history", filled.finished, "--limit", "2", "--json")).json<{
        checkpoints: { id: string }[];
        nextBefore: string;
      }>();
      expect(page.checkpoints).toHaveLength(2);
      expect(page.nextBefore).toBe(all.checkpoints[1]!.id);
      const human = await run("history", filled.finished, "--limit", "2");
      expect(human.stdout).toMatch(/^STEP\s+CHECKPOINT\s+SOURCE\s+NEXT\s+CREATED\s+STORED/);
      expect(human.stdout).toContain(`Older: --before ${page.nextBefore}`);
      expect(human.stdout).toMatch(/0\s+\S+\s+loop\s+review/);
    });

    it("diff names the state keys that changed between two checkpoints", async () => {
      const ids = (await run("history", filled.finished, "--json"))
        .json<{ checkpoints: { id: string }[] }>()
        .checkpoints.map((c) => c.id);
      const [head, middle, first] = ids as [string, string, string];
      const result = (await run("diff", filled.finished, first, head, "--json")).json<{
        changes: { key: string; change: string; before?: unknown; after?: unknown }[];
      }>();
      expect(result.changes.map((c) => [c.key, c.change])).toEqual([
        ["approved", "added"],
        ["count", "changed"],
        ["draft", "added"],
        ["log", "added"],
      ]);
      expect(result.changes.find((c) => c.key === "draft")?.after).toBe("draft of bats");
      const step = (await run("diff", filled.finished, middle, head, "--json")).json<{
        changes: { key: string }[];
      }>();
      expect(step.changes.map((c) => c.key)).toEqual(["approved", "count", "log"]);
      const human = await run("diff", filled.finished, first, head);
      expect(human.stdout).toMatch(/\+ draft\s+"draft of bats"/);
      expect(human.stdout).toMatch(/~ count/);
      const same = await run("diff", filled.finished, head, head);
      expect(same.stdout).toBe("No state key differs.\n");
    });

    it("runs list, show (with graph version), pause, resume and cancel", async () => {
      const { pending, second } = filled.runs;
      const list = (await run("runs", "list", "--json")).json<{
        runs: { id: string; status: string }[];
      }>();
      expect(list.runs.map((r) => [r.id, r.status])).toEqual([
        [second, "pending"],
        [pending, "pending"],
      ]);
      const human = await run("runs", "list");
      expect(human.stdout).toMatch(new RegExp(`${pending}\\s+t-queued\\s+essay\\s+pending\\s+0/5`));
      const shown = (await run("runs", "show", pending, "--json")).json<{
        run: { id: string; graphVersion: unknown; token: number };
      }>();
      expect(shown.run).toMatchObject({ id: pending, graphVersion: null, token: 0 });
      expect((await run("runs", "show", pending)).stdout).toMatch(/fencing token\s+0/);
      const paused = (await run("runs", "pause", pending, "--json")).json<{
        run: { status: string };
      }>();
      expect(paused.run.status).toBe("paused");
      expect(
        (await run("runs", "list", "--status", "paused", "--json"))
          .json<{ runs: { id: string }[] }>()
          .runs.map((r) => r.id),
      ).toEqual([pending]);
      const resumed = await run("runs", "resume", pending);
      expect(resumed.stdout).toBe(`resume: run ${pending} is pending\n`);
      const cancelled = (await run("runs", "cancel", second, "--json")).json<{
        run: { status: string };
      }>();
      expect(cancelled.run.status).toBe("cancelled");
      const notPaused = await run("runs", "resume", second);
      expect(notPaused.code).toBe(1);
      expect(notPaused.stderr).toMatch(/^error RUN_STATE: /);
      const missing = await run("runs", "show", "01a00000-0000-7000-8000-000000000000");
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^error RUN_NOT_FOUND: /);
    });

    it("copy, export and import move a thread with its history", async () => {
      const copied = await run("copy", filled.finished, "t-copy");
      expect(copied.stdout).toBe(`Copied thread ${filled.finished} to t-copy.\n`);
      const again = await run("copy", filled.finished, "t-copy", "--json");
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^error THREAD_EXISTS: /);
      const exported = await run("export", "t-copy");
      const data = JSON.parse(exported.stdout) as { threadId: string; checkpoints: unknown[] };
      expect(data).toMatchObject({ format: "waypoint.thread", threadId: "t-copy" });
      expect(data.checkpoints).toHaveLength(3);
      expect(await checkpointer.deleteThread("t-copy")).toBe(true);
      const imported = await cli(["import", "--json", ...args], { stdin: exported.stdout });
      expect(imported.code).toBe(0);
      expect(imported.json()).toEqual({ threadId: "t-copy", checkpoints: 3 });
      const shown = (await run("show", "t-copy", "--json")).json<Shown>();
      expect(shown.values).toMatchObject({ approved: true, draft: "draft of bats" });
      const twice = await cli(["import", ...args], { stdin: exported.stdout });
      expect(twice.code).toBe(1);
      expect(twice.stderr).toMatch(/^error THREAD_EXISTS: /);
      const newer = JSON.stringify({ ...data, threadId: "t-newer", formatVersion: 99 });
      const refused = await cli(["import", ...args], { stdin: newer });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error UNSUPPORTED_FORMAT_VERSION: /);
      const notJson = await cli(["import", ...args], { stdin: "{ nope" });
      expect(notJson.code).toBe(2);
    });

    it("prune keeps what a thread needs; sweep reports what it deleted", async () => {
      const before = (await run("show", filled.finished, "--json")).json<Shown>();
      const pruned = await run("prune", "--keep", "1", "--thread", filled.finished, "--json");
      expect(pruned.code).toBe(0);
      expect(
        pruned.json<{ deletedCheckpoints: number }>().deletedCheckpoints,
      ).toBeGreaterThanOrEqual(0);
      const after = (await run("show", filled.finished, "--json")).json<Shown>();
      expect(after.values).toEqual(before.values);
      const old = await run("prune", "--older-than", "7d", "--runs");
      expect(old.stdout).toBe("Deleted 0 checkpoint(s) and 0 ended run(s).\n");
      const sweep = await run("sweep", "--json");
      expect(sweep.code).toBe(0);
      expect(sweep.json<{ swept: number }>().swept).toBe(0);
    });
  });
}
