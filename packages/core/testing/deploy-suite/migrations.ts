import type { Checkpointer } from "@waypoint/checkpoint";
import { describe, expect, it } from "vitest";
import { lastValue } from "../../src/channels/index.js";
import { Command, END, START } from "../../src/constants.js";
import type { CompileOptions } from "../../src/graph/compile-options.js";
import { StateGraph } from "../../src/graph/state-graph.js";
import { defineState } from "../../src/state.js";
import {
  EssayV1,
  Sink,
  appendLog,
  draftNode,
  essayV1,
  expectOneChain,
  renamed,
  reviewNode,
  storedOf,
} from "./essay-graphs.js";

/** Renamed nodes and migrations of the state: their migration checkpoint, chains, and one that throws. */
export function migrationTests(store: () => Promise<Checkpointer>): void {
  it("a declared rename goes on: the interrupt is resumed under the new name, the effect is not run again", async () => {
    const checkpointer = await store();
    const sink = new Sink();
    const paused = await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
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
      const error = await v3.invoke({ topic: "more" }, { threadId: "t" }).catch((e: unknown) => e);
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
        (tag: string) => (state: Record<string, unknown>, info: { from: unknown; to: unknown }) => {
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
}
