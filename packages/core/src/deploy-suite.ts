import type { Checkpointer, CheckpointHeader } from "@waypoint/checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { lastValue, reducer } from "./channels/index.js";
import { Command, END, START } from "./constants.js";
import { armFault, disarmFaults, InjectedFault } from "./faults.js";
import type { CompileOptions } from "./graph/state-graph.js";
import { StateGraph } from "./graph/state-graph.js";
import type { NodeContext } from "./graph/graph-spec.js";
import { interrupt } from "./pregel/interrupt.js";
import { defineState } from "./state.js";

export interface DeploySuiteOptions {
  readonly name: string;
  /** A fresh, empty store for one test. */
  create(): Checkpointer | Promise<Checkpointer>;
  /** Called after each test; defaults to `close()`. */
  destroy?(checkpointer: Checkpointer): void | Promise<void>;
}

const appendLog = () =>
  reducer(
    (lines: string[], line: string) => [...lines, line],
    () => [] as string[],
  );

/** Version 1 of the essay graph's state: what every thread in this suite starts with. */
const EssayV1 = defineState({
  topic: lastValue<string>(),
  draft: lastValue<string>(),
  log: appendLog(),
});

/** Counts the calls an outside service saw, by idempotency key. */
class Sink {
  readonly keys: string[] = [];
  call(key: string): string {
    this.keys.push(key);
    return key;
  }
}

type Ctx = NodeContext;

/** The node that pauses: it notifies through an effect, then asks (unless a breakpoint asks instead). */
function reviewNode(sink: Sink, name: string, ask: boolean) {
  return async (_s: unknown, ctx: Ctx) => {
    const key = await ctx.effect("notify", ({ idempotencyKey }) => sink.call(idempotencyKey));
    const verdict = ask ? interrupt<string>("approve?") : "breakpoint";
    return { log: `${name}:${verdict}:${key.slice(0, 12)}` };
  };
}

const draftNode = (s: { topic: string }) => ({ draft: `draft of ${s.topic}`, log: "draft" });

/** v1: START → draft → review (effect, then interrupt) → END. */
function essayV1(checkpointer: Checkpointer, sink: Sink, options: Partial<CompileOptions> = {}) {
  return new StateGraph(EssayV1)
    .addNode("write", draftNode)
    .addNode("review", reviewNode(sink, "review", options.interruptBefore === undefined))
    .addEdge(START, "write")
    .addEdge("write", "review")
    .addEdge("review", END)
    .compile({ checkpointer, ...options });
}

/** A thread's stored record: its headers (newest first) and its head's pending writes. */
async function storedOf(checkpointer: Checkpointer, threadId: string) {
  const headers: CheckpointHeader[] = [];
  for await (const header of checkpointer.list(threadId)) headers.push(header);
  const head = await checkpointer.get(threadId);
  return { headers, pendingWrites: head?.pendingWrites ?? [] };
}

/** The checkpoints form one chain: each one's parent is the one before it. */
function expectOneChain(headers: readonly CheckpointHeader[]) {
  for (let i = 0; i + 1 < headers.length; i += 1)
    expect(headers[i]!.parentId).toBe(headers[i + 1]!.id);
  expect(headers.at(-1)?.parentId ?? null).toBeNull();
}

const INTERNAL = /branch:to:|join:|__/;

/** What these tests need of a compiled graph, whatever its state. */
interface Resumable<R> {
  invoke(input: Command | { topic: string } | null, options: { threadId: string }): Promise<R>;
}

/**
 * Deploys that change the graph, on one backend: a thread paused on one
 * version goes on on the next (added nodes and channels, renames,
 * migrations), or is refused with nothing written.
 */
export function runDeploySuite(options: DeploySuiteOptions): void {
  describe(`${options.name}: deploys that change the graph`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      disarmFaults();
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    async function store(): Promise<Checkpointer> {
      const checkpointer = await options.create();
      cleanup.push(async () => {
        await (options.destroy ? options.destroy(checkpointer) : checkpointer.close());
      });
      return checkpointer;
    }

    /** v2 adds a node after review and a channel with a default, which that node reads. */
    function essayV2(checkpointer: Checkpointer, sink: Sink, extra: Partial<CompileOptions> = {}) {
      const State = defineState({
        ...EssayV1,
        tone: lastValue<string>({ default: () => "plain" }),
      });
      return new StateGraph(State)
        .addNode("write", draftNode)
        .addNode("review", reviewNode(sink, "review", extra.interruptBefore === undefined))
        .addNode("polish", (s) => ({ draft: `${s.draft} (${s.tone})`, log: `polish:${s.tone}` }))
        .addEdge(START, "write")
        .addEdge("write", "review")
        .addEdge("review", "polish")
        .addEdge("polish", END)
        .compile({ checkpointer, version: 2, ...extra });
    }

    describe.each([
      ["interrupt() in the node", {}],
      ["interruptBefore", { interruptBefore: ["review"] }],
    ] as const)("a thread paused at %s", (_label, pause) => {
      it("goes on on v2 with an added node and channel, ending as a v2 run does", async () => {
        const checkpointer = await store();
        const sink = new Sink();
        const paused = await essayV1(checkpointer, sink, pause).invoke(
          { topic: "tides" },
          { threadId: "t" },
        );
        expect(paused.__interrupt__).toHaveLength(1);
        const v2 = essayV2(checkpointer, sink, pause);
        const done = await v2.invoke(new Command({ resume: "yes" }), { threadId: "t" });
        // The same thread run on v2 from the start, with the same answer.
        await v2.invoke({ topic: "tides" }, { threadId: "reference" });
        const reference = await v2.invoke(new Command({ resume: "yes" }), {
          threadId: "reference",
        });
        const strip = (log: string[]) => log.map((line) => line.replace(/:[0-9a-f-]+$/, ""));
        expect({ ...done, log: strip(done.log) }).toEqual({
          ...reference,
          log: strip(reference.log),
        });
        expect(done.__interrupt__).toBeUndefined();
        expect(done.log.at(-1)).toBe("polish:plain");
        expect(done.draft).toBe("draft of tides (plain)");
        // The effect ran once on each thread: the deploy replayed its record.
        expect(sink.keys).toHaveLength(2);
        expectOneChain((await storedOf(checkpointer, "t")).headers);
      });
    });

    describe("a change the thread cannot follow is GRAPH_CHANGED, and nothing is written", () => {
      async function refused(
        v2: (checkpointer: Checkpointer, sink: Sink) => Resumable<unknown>,
        problem: string,
      ) {
        const checkpointer = await store();
        const sink = new Sink();
        await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
        const before = await storedOf(checkpointer, "t");
        const graph = v2(checkpointer, sink);
        for (const input of [new Command({ resume: "yes" }), null]) {
          const error = await graph.invoke(input, { threadId: "t" }).catch((e: unknown) => e);
          expect(error).toMatchObject({ code: "GRAPH_CHANGED" });
          const { problems, message } = error as { problems: string[]; message: string };
          expect(problems).toContain(problem);
          expect(message).toContain(problem);
          for (const text of [message, ...problems]) expect(text).not.toMatch(INTERNAL);
          expect(await storedOf(checkpointer, "t")).toEqual(before);
        }
        expect(sink.keys).toHaveLength(1);
      }

      it("a thread a newer version wrote, loaded by an older one (a rollback): the older one would undo its migration", async () => {
        const checkpointer = await store();
        const sink = new Sink();
        await essayV1(checkpointer, sink, { version: 3 }).invoke(
          { topic: "tides" },
          { threadId: "t" },
        );
        const before = await storedOf(checkpointer, "t");
        for (const version of [1, 2, "2025-01"] as const) {
          const older = essayV1(checkpointer, sink, { version });
          const error = await older
            .invoke(new Command({ resume: "yes" }), { threadId: "t" })
            .catch((e: unknown) => e);
          expect(error).toMatchObject({ code: "GRAPH_CHANGED", data: { newerVersion: true } });
          expect((error as { problems: string[] }).problems).toEqual([
            `the thread was written by version 3 of "graph", newer than this graph's version ${JSON.stringify(version)}`,
          ]);
          expect(await storedOf(checkpointer, "t")).toEqual(before);
        }
        // Version 1 (no version at all) is never newer: a versioned graph goes on from it.
        await essayV1(checkpointer, sink).invoke({ topic: "waves" }, { threadId: "unversioned" });
        const versioned = essayV1(checkpointer, sink, { version: "2025-01" });
        const resumed = await versioned.invoke(new Command({ resume: "yes" }), {
          threadId: "unversioned",
        });
        expect(resumed.log.at(-1)).toMatch(/^review:yes:/);
      });

      it("a planned node that v2 removed", async () => {
        await refused(
          (checkpointer) =>
            new StateGraph(EssayV1)
              .addNode("write", draftNode)
              .addEdge(START, "write")
              .addEdge("write", END)
              .compile({ checkpointer, version: 2 }),
          'node "review" is planned but no longer exists',
        );
      });

      it("a channel that holds a value and is gone", async () => {
        const State = defineState({ topic: lastValue<string>(), log: appendLog() });
        await refused(
          (checkpointer, sink) =>
            new StateGraph(State)
              .addNode("write", () => ({ log: "draft" }))
              .addNode("review", reviewNode(sink, "review", true))
              .addEdge(START, "write")
              .addEdge("write", "review")
              .addEdge("review", END)
              .compile({ checkpointer, version: 2 }),
          'channel "draft" holds a value but is gone',
        );
      });

      it("a channel whose kind changed from lastValue to reducer", async () => {
        const State = defineState({
          ...EssayV1,
          draft: reducer(
            (all: string, more: string) => all + more,
            () => "",
          ),
        });
        await refused(
          (checkpointer, sink) =>
            new StateGraph(State)
              .addNode("write", draftNode)
              .addNode("review", reviewNode(sink, "review", true))
              .addEdge(START, "write")
              .addEdge("write", "review")
              .addEdge("review", END)
              .compile({ checkpointer, version: 2 }),
          'channel "draft" changed from lastValue to reducer',
        );
      });
    });

    /** v2 calls "review" "approve", and says so. */
    function renamed(checkpointer: Checkpointer, sink: Sink, extra: Partial<CompileOptions> = {}) {
      return new StateGraph(EssayV1)
        .addNode("write", draftNode)
        .addNode("approve", reviewNode(sink, "approve", true))
        .addEdge(START, "write")
        .addEdge("write", "approve")
        .addEdge("approve", END)
        .compile({ checkpointer, version: 2, renamedNodes: { review: "approve" }, ...extra });
    }

    it("a declared rename goes on: the interrupt is resumed under the new name, the effect is not run again", async () => {
      const checkpointer = await store();
      const sink = new Sink();
      const paused = await essayV1(checkpointer, sink).invoke(
        { topic: "tides" },
        { threadId: "t" },
      );
      const [asked] = paused.__interrupt__ ?? [];
      const [key] = sink.keys;
      const graph = renamed(checkpointer, sink);
      // Loaded on v2 without an answer: the same interrupt, now of "approve".
      const again = await graph.invoke(null, { threadId: "t" });
      expect(again.__interrupt__).toEqual([{ ...asked, node: "approve" }]);
      const state = await graph.getState("t");
      expect(state?.next).toEqual(["approve"]);
      expect(state?.interrupts.map((i) => [i.id, i.node])).toEqual([[asked?.id, "approve"]]);
      const done = await graph.invoke(new Command({ resume: "yes" }), { threadId: "t" });
      // The effect's record was replayed under the key it was recorded with.
      expect(sink.keys).toEqual([key]);
      expect(done.log).toEqual(["draft", `approve:yes:${key!.slice(0, 12)}`]);
      const { headers } = await storedOf(checkpointer, "t");
      expect(headers.filter((h) => h.metadata.source === "migration")).toHaveLength(1);
      expectOneChain(headers);
    });

    describe("a migration transforms the state", () => {
      const StateV2 = defineState({
        topic: lastValue<string>(),
        title: lastValue<string>(),
        body: lastValue<string>(),
        log: appendLog(),
      });
      const toV2 = (state: Record<string, unknown>) => {
        const { draft, ...rest } = state;
        return { ...rest, title: String(state.topic).toUpperCase(), body: draft };
      };
      function migrated(
        checkpointer: Checkpointer,
        sink: Sink,
        node: string,
        migrations: CompileOptions["migrations"],
      ) {
        return new StateGraph(StateV2)
          .addNode("write", (s) => ({ body: `draft of ${s.topic}`, log: "draft" }))
          .addNode(node, async (s, ctx) => {
            const { log } = await reviewNode(sink, node, true)(s, ctx);
            return { log: `${log} on ${s.title}: ${s.body}` };
          })
          .addEdge(START, "write")
          .addEdge("write", node)
          .addEdge(node, END)
          .compile({ checkpointer, version: 2, migrations });
      }

      it.each([
        ["the map form", "review", { 2: toV2 }],
        [
          "the list form, moving the planned task with plan",
          "approve",
          [
            {
              from: 1,
              to: 2,
              state: toV2,
              plan: (next: readonly string[]) => next.map((n) => (n === "review" ? "approve" : n)),
            },
          ],
        ],
      ] as const)("in %s, with a migration checkpoint in the history", async (_l, node, steps) => {
        const checkpointer = await store();
        const sink = new Sink();
        await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
        const oldHead = (await storedOf(checkpointer, "t")).headers[0]!;
        const graph = migrated(checkpointer, sink, node, steps);
        const done = await graph.invoke(new Command({ resume: "yes" }), { threadId: "t" });
        expect(done).toEqual({
          topic: "tides",
          title: "TIDES",
          body: "draft of tides",
          log: ["draft", `${node}:yes:${sink.keys[0]!.slice(0, 12)} on TIDES: draft of tides`],
        });
        expect(sink.keys).toHaveLength(1);
        const history = [];
        for await (const snapshot of graph.getStateHistory("t")) history.push(snapshot);
        const [next, migration, old] = history;
        expect(old?.checkpointId).toBe(oldHead.id);
        expect(migration?.parentCheckpointId).toBe(oldHead.id);
        expect(migration?.metadata).toMatchObject({
          source: "migration",
          migratedFrom: 1,
          graph: { version: 2 },
        });
        expect(migration?.values).toMatchObject({ title: "TIDES", body: "draft of tides" });
        expect(migration?.next).toEqual([node]);
        expect(next?.parentCheckpointId).toBe(migration?.checkpointId);
        expect(next?.metadata).toMatchObject({ source: "loop", graph: { version: 2 } });
        expect(old?.metadata).toMatchObject({ graph: { version: 1 } });
      });

      it("a key only a migration set holds a value: a later version without it is refused", async () => {
        const checkpointer = await store();
        const sink = new Sink();
        await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
        await migrated(checkpointer, sink, "review", { 2: toV2 }).invoke(
          new Command({ resume: "yes" }),
          { threadId: "t" },
        );
        const before = await storedOf(checkpointer, "t");
        const State = defineState({ topic: lastValue<string>(), log: appendLog() });
        const v3 = new StateGraph(State)
          .addNode("write", () => ({ log: "draft" }))
          .addEdge(START, "write")
          .addEdge("write", END)
          .compile({ checkpointer, version: 3 });
        const error = await v3
          .invoke({ topic: "more" }, { threadId: "t" })
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "GRAPH_CHANGED" });
        expect((error as { problems: string[] }).problems).toEqual([
          'channel "title" holds a value but is gone',
          'channel "body" holds a value but is gone',
        ]);
        expect(await storedOf(checkpointer, "t")).toEqual(before);
      });

      it("chained migrations 1 → 2 → 3 run in order, in one migration checkpoint", async () => {
        const checkpointer = await store();
        const sink = new Sink();
        await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
        const calls: string[] = [];
        const step =
          (tag: string) =>
          (state: Record<string, unknown>, info: { from: unknown; to: unknown }) => {
            calls.push(`${String(info.from)}->${String(info.to)}`);
            return { ...state, draft: `${String(state.draft)} ${tag}` };
          };
        const graph = new StateGraph(EssayV1)
          .addNode("write", draftNode)
          .addNode("review", reviewNode(sink, "review", true))
          .addEdge(START, "write")
          .addEdge("write", "review")
          .addEdge("review", END)
          .compile({ checkpointer, version: 3, migrations: { 3: step("m3"), 2: step("m2") } });
        const done = await graph.invoke(new Command({ resume: "yes" }), { threadId: "t" });
        expect(calls).toEqual(["1->2", "2->3"]);
        expect(done.draft).toBe("draft of tides m2 m3");
        const { headers } = await storedOf(checkpointer, "t");
        const migrations = headers.filter((h) => h.metadata.source === "migration");
        expect(migrations.map((h) => h.metadata.migratedFrom)).toEqual([1]);
        expect(migrations[0]?.metadata.graph).toMatchObject({ version: 3 });
        // Loaded again on v3: nothing more to migrate.
        await graph.invoke(null, { threadId: "t" });
        expect(calls).toHaveLength(2);
      });
    });

    it("a migration that throws leaves the thread as it was (MIGRATION_FAILED); a fixed one then goes on", async () => {
      const checkpointer = await store();
      const sink = new Sink();
      const v1 = essayV1(checkpointer, sink);
      await v1.invoke({ topic: "tides" }, { threadId: "t" });
      const before = await storedOf(checkpointer, "t");
      const state = await v1.getState("t");
      const withStep = (step: (s: Record<string, unknown>) => Record<string, unknown>) =>
        new StateGraph(EssayV1)
          .addNode("write", draftNode)
          .addNode("review", reviewNode(sink, "review", true))
          .addEdge(START, "write")
          .addEdge("write", "review")
          .addEdge("review", END)
          .compile({ checkpointer, version: 2, migrations: { 2: step } });
      const broken = withStep(() => {
        throw new Error("no draft field");
      });
      await expect(
        broken.invoke(new Command({ resume: "yes" }), { threadId: "t" }),
      ).rejects.toMatchObject({ code: "MIGRATION_FAILED", message: /no draft field/ });
      expect(await storedOf(checkpointer, "t")).toEqual(before);
      expect(await v1.getState("t")).toEqual(state);
      const fixed = withStep((s) => ({ ...s, draft: `${String(s.draft)}, fixed` }));
      const done = await fixed.invoke(new Command({ resume: "yes" }), { threadId: "t" });
      expect(done.draft).toBe("draft of tides, fixed");
      expect(sink.keys).toHaveLength(1);
    });

    /** A store whose first put lands and then "crashes" before the writer hears back. */
    function lostAck(checkpointer: Checkpointer): Checkpointer {
      let crashed = false;
      return new Proxy(checkpointer, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (property === "put" && !crashed) {
            return async (request: Parameters<Checkpointer["put"]>[0]) => {
              await target.put(request);
              crashed = true;
              throw new Error("crash after the store wrote");
            };
          }
          return typeof value === "function" ? (value as () => unknown).bind(target) : value;
        },
      });
    }

    it.each(["before-commit", "after-commit", "inside put, after the store wrote"] as const)(
      "a crash during the migration (%s) leaves the old head or the migrated one; resuming finishes, the effect applied once",
      async (point) => {
        const checkpointer = await store();
        const sink = new Sink();
        await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
        const before = await storedOf(checkpointer, "t");
        const migrations = { 2: (s: Record<string, unknown>) => ({ ...s, draft: "migrated" }) };
        let crashing = essayV2(checkpointer, sink, { migrations });
        if (point === "inside put, after the store wrote")
          crashing = essayV2(lostAck(checkpointer), sink, { migrations });
        else armFault(point, "throw");
        const error = await crashing
          .invoke(new Command({ resume: "yes" }), { threadId: "t" })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(point === "before-commit" ? InjectedFault : Error);
        disarmFaults();
        const after = await storedOf(checkpointer, "t");
        if (point === "before-commit") {
          expect(after).toEqual(before);
        } else {
          // The migrated head, whole: the old head's parent, the migrated state, every pending write carried.
          expect(after.headers.slice(1)).toEqual(before.headers);
          expect(after.headers[0]!.metadata).toMatchObject({ source: "migration" });
          expect(after.headers[0]!.next).toEqual(before.headers[0]!.next);
          const carried = (writes: typeof after.pendingWrites) =>
            writes.map((w) => [w.taskId, w.idx, w.channel, w.value]);
          expect(carried(after.pendingWrites)).toEqual(
            expect.arrayContaining(carried(before.pendingWrites)),
          );
          const head = await essayV2(checkpointer, sink).getState("t");
          expect(head?.values.draft).toBe("migrated");
        }
        const v2 = essayV2(checkpointer, sink, { migrations });
        const done = await v2.invoke(new Command({ resume: "yes" }), { threadId: "t" });
        expect(done.draft).toBe("migrated (plain)");
        expect(done.log).toEqual([
          "draft",
          `review:yes:${sink.keys[0]!.slice(0, 12)}`,
          "polish:plain",
        ]);
        expect(sink.keys).toHaveLength(1);
        const { headers } = await storedOf(checkpointer, "t");
        expectOneChain(headers);
        expect(headers.filter((h) => h.metadata.source === "migration")).toHaveLength(1);
      },
    );

    describe("compatible changes go on without a word", () => {
      async function goesOn(
        v1: (checkpointer: Checkpointer, sink: Sink) => Resumable<unknown>,
        v2: (checkpointer: Checkpointer, sink: Sink) => Resumable<{ log: string[] }>,
      ) {
        const checkpointer = await store();
        const sink = new Sink();
        await v1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
        const oldHead = (await storedOf(checkpointer, "t")).headers[0]!;
        const done = await v2(checkpointer, sink).invoke(new Command({ resume: "yes" }), {
          threadId: "t",
        });
        const { headers } = await storedOf(checkpointer, "t");
        expect(headers.filter((h) => h.metadata.source === "migration")).toEqual([]);
        expectOneChain(headers);
        expect(sink.keys).toHaveLength(1);
        const after = headers.find((h) => h.parentId === oldHead.id);
        expect(after).toBeDefined();
        return { done, oldHead, after: after! };
      }

      it("changed node code: the same identity, no shape recorded again", async () => {
        const { done, oldHead, after } = await goesOn(essayV1, (checkpointer, sink) =>
          new StateGraph(EssayV1)
            .addNode("write", draftNode)
            .addNode("review", async (s, ctx) => {
              const { log } = await reviewNode(sink, "review", true)(s, ctx);
              return { log: log.toUpperCase() };
            })
            .addEdge(START, "write")
            .addEdge("write", "review")
            .addEdge("review", END)
            .compile({ checkpointer }),
        );
        expect(done.log[1]).toMatch(/^REVIEW:YES:/);
        expect(oldHead.metadata.graph).toMatchObject({ name: "graph", version: 1 });
        expect(after.metadata.graph).toEqual(oldHead.metadata.graph);
        expect(after.metadata.graphShape).toBeUndefined();
      });

      it.each([
        [
          "an added edge",
          {
            channels: { topic: "lastValue", draft: "lastValue", log: "reducer" },
            nodes: ["write", "review", "publish"],
          },
        ],
        [
          "a removed channel that holds no value (never written, with or without a default)",
          {
            channels: { topic: "lastValue", draft: "lastValue", log: "reducer" },
            nodes: ["write", "review"],
          },
        ],
      ] as const)(
        "%s: the next checkpoint records the new identity and shape",
        async (label, shape) => {
          const withPublish = label === "an added edge";
          const StateV1 = defineState({
            ...EssayV1,
            unused: lastValue<string>(),
            defaulted: lastValue<string>({ default: () => "stored with the snapshot" }),
          });
          const build = (checkpointer: Checkpointer, sink: Sink, version: 1 | 2) => {
            const graph = new StateGraph(withPublish || version === 2 ? EssayV1 : StateV1)
              .addNode("write", draftNode)
              .addNode("review", reviewNode(sink, "review", true))
              .addEdge(START, "write")
              .addEdge("write", "review");
            if (!withPublish) return graph.addEdge("review", END).compile({ checkpointer });
            const published = graph
              .addNode("publish", () => ({ log: "publish" }))
              .addEdge("review", "publish")
              .addEdge("publish", END);
            return (version === 2 ? published.addEdge("write", "publish") : published).compile({
              checkpointer,
            });
          };
          const { done, oldHead, after } = await goesOn(
            (c, s) => build(c, s, 1),
            (c, s) => build(c, s, 2),
          );
          expect(done.log.length).toBe(withPublish ? 3 : 2);
          const graph = after.metadata.graph;
          expect(graph).toEqual({
            name: "graph",
            version: 1,
            fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/) as unknown,
          });
          expect(graph).not.toEqual(oldHead.metadata.graph);
          expect(after.metadata.graphShape).toEqual(shape);
        },
      );
    });

    it("a hand-damaged head naming an unknown node is CORRUPT_RECORD naming thread and checkpoint", async () => {
      const checkpointer = await store();
      const sink = new Sink();
      const graph = essayV1(checkpointer, sink);
      await graph.invoke({ topic: "tides" }, { threadId: "t" });
      const head = (await storedOf(checkpointer, "t")).headers[0]!;
      const damaged = await checkpointer.put({
        checkpoint: {
          threadId: "t",
          step: head.step + 1,
          channelVersions: head.channelVersions,
          versionsSeen: head.versionsSeen,
          next: head.next.map((task) => ({ ...task, node: "ghost" })),
          writes: [],
          metadata: head.metadata,
        },
        parent: head,
        snapshot: () => {
          throw new Error("the state is small: no snapshot is due after one empty delta");
        },
      });
      for (const input of [new Command({ resume: "yes" }), null]) {
        const error = await graph.invoke(input, { threadId: "t" }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "CORRUPT_RECORD" });
        expect((error as Error).message).toContain('thread "t"');
        expect((error as Error).message).toContain(damaged.id);
        expect((error as Error).message).toContain('"ghost"');
      }
    });
  });
}
