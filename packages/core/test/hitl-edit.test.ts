import { describe, expect, it } from "vitest";
import {
  COPY,
  Command,
  END,
  START,
  Send,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
} from "@waypoint/core";
import { appendLog, DedupSink, STORES } from "./support/stores.js";

const State = defineState({
  note: lastValue<string>(),
  calls: lastValue<string[]>(),
  log: appendLog(),
});

describe.each(STORES)("updateState on $name", (store) => {
  it("a plain edit while one parallel task finished and a sibling is interrupted keeps both: nothing finished or recorded runs again, and the interrupt stays answerable", async () => {
    const sink = new DedupSink();
    const runs = { a: 0, b: 0 };
    const graph = new StateGraph(State)
      .addNode("a", async (_s, ctx) => {
        runs.a += 1;
        await ctx.effect("mail", ({ idempotencyKey }) => sink.apply(idempotencyKey, "mail"));
        return { log: "a" };
      })
      .addNode("b", async (s, ctx) => {
        runs.b += 1;
        await ctx.effect("charge", ({ idempotencyKey }) => sink.apply(idempotencyKey, "charge"));
        return { log: `b:${interrupt<string>("ok?")} note=${s.note}` };
      })
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge("a", END)
      .addEdge("b", END)
      .compile({ checkpointer: store.create() });
    const paused = await graph.invoke({ note: "old" }, { threadId: "t" });
    const pending = paused.__interrupt__![0]!;

    await graph.updateState("t", { note: "new" });
    const edited = await graph.getState("t");
    expect(edited?.metadata.source).toBe("update");
    expect(edited?.values).toMatchObject({ note: "new", log: ["a"] });
    expect(edited?.next).toEqual(["b"]);
    expect(edited?.interrupts.map((i) => i.id)).toEqual([pending.id]);

    const done = await graph.invoke(new Command({ resume: { [pending.id]: "yes" } }), {
      threadId: "t",
    });
    expect(done.log).toEqual(["a", "b:yes note=new"]);
    expect(runs).toEqual({ a: 1, b: 2 });
    // Each effect was called once, under one key.
    expect(sink.calls).toHaveLength(2);
  });

  describe("with asNode, the node's edges alone decide what runs next", () => {
    function chain() {
      const runs: string[] = [];
      const step = (name: string) => (s: { note: string }) => {
        runs.push(name);
        return { log: `${name} (${s.note})` };
      };
      const graph = new StateGraph(State)
        .addNode("a", step("a"))
        .addNode("b", step("b"))
        .addNode("c", step("c"))
        .addEdge(START, "a")
        .addEdge("a", "b")
        .addEdge("b", "c")
        .addEdge("c", END)
        .compile({ checkpointer: store.create(), interruptBefore: ["b"] });
      return { graph, runs };
    }

    it("asNode at a pause before that node skips it: next is its successor alone", async () => {
      const { graph, runs } = chain();
      await graph.invoke({ note: "x" }, { threadId: "t" });
      expect((await graph.getState("t"))?.next).toEqual(["b"]);
      await graph.updateState("t", { log: "b by hand" }, { asNode: "b" });
      expect((await graph.getState("t"))?.next).toEqual(["c"]);
      const done = await graph.invoke(null, { threadId: "t" });
      expect(done.log).toEqual(["a (x)", "b by hand", "c (x)"]);
      expect(runs).toEqual(["a", "c"]);
    });

    it("asNode START plans START's edges and drops the paused plan", async () => {
      const { graph } = chain();
      await graph.invoke({ note: "x" }, { threadId: "t" });
      await graph.updateState("t", { note: "again" }, { asNode: START });
      expect((await graph.getState("t"))?.next).toEqual(["a"]);
    });

    it("asNode END with null values clears the plan, so nothing runs", async () => {
      const { graph, runs } = chain();
      await graph.invoke({ note: "x" }, { threadId: "t" });
      await graph.updateState("t", null, { asNode: END });
      const state = await graph.getState("t");
      expect(state?.next).toEqual([]);
      expect(state?.tasks).toEqual([]);
      await graph.invoke(null, { threadId: "t" });
      expect(runs).toEqual(["a"]);
    });

    it("null values with a node: only its edges fire", async () => {
      const { graph } = chain();
      await graph.invoke({ note: "x" }, { threadId: "t" });
      await graph.updateState("t", null, { asNode: "a" });
      const state = await graph.getState("t");
      expect(state?.next).toEqual(["b"]);
      expect(state?.values.log).toEqual(["a (x)"]);
    });

    it("an edit made as the agent at a pause before its tools plans the edited tool calls alone (Sends included)", async () => {
      const ran: string[] = [];
      const graph = new StateGraph(State)
        .addNode("agent", (s) => ({ calls: s.log.length === 0 ? ["search"] : [] }))
        .addNode("tools", (call: { name: string }) => {
          ran.push(call.name);
          return { log: `ran ${call.name}` };
        })
        .addEdge(START, "agent")
        .addConditionalEdges("agent", (s) =>
          s.calls !== undefined && s.calls.length > 0
            ? s.calls.map((name) => new Send("tools", { name }))
            : END,
        )
        .addEdge("tools", "agent")
        .compile({ checkpointer: store.create(), interruptBefore: ["tools"] });
      await graph.invoke({}, { threadId: "t" });
      expect((await graph.getState("t"))?.next).toEqual(["tools"]);
      await graph.updateState("t", { calls: ["search", "fetch"] }, { asNode: "agent" });
      expect((await graph.getState("t"))?.next).toEqual(["tools", "tools"]);
      await graph.invoke(null, { threadId: "t" });
      expect(ran).toEqual(["search", "fetch"]);
    });

    it("keeps what finished parallel tasks wrote", async () => {
      const graph = new StateGraph(State)
        .addNode("a", () => ({ log: "a" }))
        .addNode("b", () => ({ log: `b:${interrupt<string>("?")}` }))
        .addNode("after", () => ({ log: "after" }))
        .addEdge(START, "a")
        .addEdge(START, "b")
        .addEdge("a", END)
        .addEdge("b", END)
        .addEdge("after", END)
        .addConditionalEdges(START, () => [], ["after"])
        .compile({ checkpointer: store.create() });
      await graph.invoke({}, { threadId: "t" });
      await graph.updateState("t", { log: "by hand" }, { asNode: "after" });
      const state = await graph.getState("t");
      expect(state?.values.log).toEqual(["a", "by hand"]);
      expect(state?.next).toEqual([]);
      expect(state?.interrupts).toEqual([]);
    });

    it("bulkUpdateState applies several updates as one superstep", async () => {
      const { graph } = chain();
      await graph.invoke({ note: "x" }, { threadId: "t" });
      const before = await graph.getState("t");
      await graph.bulkUpdateState("t", [
        {
          updates: [
            { values: { log: "one" }, asNode: "a" },
            { values: { log: "two" }, asNode: "c" },
          ],
        },
      ]);
      const state = await graph.getState("t");
      expect(state?.parentCheckpointId).toBe(before?.checkpointId);
      expect(state?.values.log).toEqual(["a (x)", "one", "two"]);
      expect(state?.next).toEqual(["b"]);
    });

    it("refuses an unknown asNode with INVALID_ARGUMENT and writes nothing", async () => {
      const { graph } = chain();
      await graph.invoke({ note: "x" }, { threadId: "t" });
      const before = await graph.getState("t");
      await expect(graph.updateState("t", { note: "y" }, { asNode: "nope" })).rejects.toMatchObject(
        { code: "INVALID_ARGUMENT" },
      );
      expect((await graph.getState("t"))?.checkpointId).toBe(before?.checkpointId);
    });
  });

  it("asNode COPY forks the checkpoint: same state and plan, no pending writes, source fork; its tasks run afresh with new keys", async () => {
    const sink = new DedupSink();
    const graph = new StateGraph(State)
      .addNode("pay", async (_s, ctx) => {
        await ctx.effect("charge", ({ idempotencyKey }) => sink.apply(idempotencyKey, "charge"));
        return { log: `paid ${interrupt<string>("?")}` };
      })
      .addEdge(START, "pay")
      .addEdge("pay", END)
      .compile({ checkpointer: store.create() });
    const paused = await graph.invoke({ note: "x" }, { threadId: "t" });
    const original = await graph.getState("t");
    await graph.updateState("t", null, { asNode: COPY });
    const copy = await graph.getState("t");
    expect(copy?.metadata.source).toBe("fork");
    expect(copy?.parentCheckpointId).toBe(original?.checkpointId);
    expect(copy?.values).toEqual(original?.values);
    expect(copy?.next).toEqual(["pay"]);
    expect(copy?.tasks[0]?.id).not.toBe(original?.tasks[0]?.id);
    expect(copy?.interrupts).toEqual([]);
    // On the copy, "pay" runs afresh: a new key, so the service applies it again.
    const again = await graph.invoke(null, { threadId: "t" });
    expect(again.__interrupt__?.[0]?.id).not.toBe(paused.__interrupt__?.[0]?.id);
    expect(sink.applied.size).toBe(2);
  });

  it("creates a thread that never ran, with asNode deciding next", async () => {
    const graph = new StateGraph(State)
      .addNode("a", (s) => ({ log: `a saw ${s.note}` }))
      .addEdge(START, "a")
      .addEdge("a", END)
      .compile({ checkpointer: store.create() });
    await graph.updateState("new", { note: "seeded" }, { asNode: START });
    const state = await graph.getState("new");
    expect(state?.next).toEqual(["a"]);
    expect(state?.metadata.source).toBe("update");
    const done = await graph.invoke(null, { threadId: "new" });
    expect(done.log).toEqual(["a saw seeded"]);

    await graph.updateState("plain", { note: "only state" });
    const plain = await graph.getState("plain");
    expect(plain?.values.note).toBe("only state");
    expect(plain?.next).toEqual([]);
  });
});
