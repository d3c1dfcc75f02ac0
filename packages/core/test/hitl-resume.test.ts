import { afterEach, describe, expect, it } from "vitest";
import {
  CheckpointerRequiredError,
  Command,
  END,
  START,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
  reducer,
} from "@waypoint/core";
import { armFault, disarmFaults } from "@waypoint/core/testing";
import { DedupSink, STORES } from "./support/stores.js";

afterEach(() => disarmFaults());

const State = defineState({
  note: lastValue<string>(),
  answer: lastValue<string>(),
  log: reducer(
    (lines: string[], line: string | string[]) => [
      ...lines,
      ...(Array.isArray(line) ? line : [line]),
    ],
    () => [] as string[],
  ),
});

describe.each(STORES)("resuming and Command input on $name", (store) => {
  /** "pay" charges through an effect, then asks for confirmation. */
  function payThenConfirm(sink: DedupSink, runs: { pay: number }) {
    return new StateGraph(State)
      .addNode("pay", async (_s, ctx) => {
        runs.pay += 1;
        const receipt = await ctx.effect("charge", ({ idempotencyKey }) =>
          sink.apply(idempotencyKey, "charge"),
        );
        const answer = interrupt<unknown>("confirm?");
        return { log: `${receipt} ${answer === undefined ? "undefined" : JSON.stringify(answer)}` };
      })
      .addEdge(START, "pay")
      .addEdge("pay", END)
      .compile({ checkpointer: store.create() });
  }

  it.each([
    ["undefined", undefined],
    ["null", null],
  ])(
    "delivers Command({ resume: %s }) to interrupt(), keeping the pending interrupt and the effect's record",
    async (label, value) => {
      const sink = new DedupSink();
      const runs = { pay: 0 };
      const graph = payThenConfirm(sink, runs);
      const paused = await graph.invoke({}, { threadId: "t" });
      expect(paused.__interrupt__).toHaveLength(1);
      const done = await graph.invoke(new Command({ resume: value }), { threadId: "t" });
      expect(done.__interrupt__).toBeUndefined();
      expect(done.log).toHaveLength(1);
      expect(done.log[0]).toMatch(new RegExp(` ${label}$`));
      // The charge ran once, under one key: the resume replayed its record.
      expect(sink.calls).toHaveLength(1);
      expect(runs.pay).toBe(2);
      const history = [];
      for await (const snapshot of graph.getStateHistory("t")) history.push(snapshot);
      expect(history.filter((s) => s.metadata.source === "input")).toHaveLength(1);
    },
  );

  it("treats the head's own checkpointId as the head: the resume keeps its pending interrupt and records", async () => {
    const sink = new DedupSink();
    const runs = { pay: 0 };
    const graph = payThenConfirm(sink, runs);
    await graph.invoke({}, { threadId: "t" });
    const head = await graph.getState("t");
    const done = await graph.invoke(new Command({ resume: "yes" }), {
      threadId: "t",
      checkpointId: head!.checkpointId,
    });
    expect(done.log).toEqual([expect.stringMatching(/ "yes"$/)]);
    expect(sink.calls).toHaveLength(1);
    const after = await graph.getState("t");
    expect(after?.parentCheckpointId).toBe(head!.checkpointId);
    expect(after?.metadata.source).toBe("loop");
  });

  it("a Command({ goto, update }) input goes to the node without firing START's router again", async () => {
    let routed = 0;
    const graph = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addNode("b", (s) => ({ log: `b saw ${s.note}` }))
      .addConditionalEdges(START, () => {
        routed += 1;
        return "a";
      })
      .addEdge("a", END)
      .addEdge("b", END)
      .compile({ checkpointer: store.create() });
    await graph.invoke({ note: "first" }, { threadId: "t" });
    expect(routed).toBe(1);
    const result = await graph.invoke(new Command({ goto: "b", update: { note: "second" } }), {
      threadId: "t",
    });
    expect(routed).toBe(1);
    expect(result.log).toEqual(["a", "b saw second"]);
    expect(result.note).toBe("second");
  });

  it("an update-only Command at a static breakpoint applies the update and goes on", async () => {
    const graph = new StateGraph(State)
      .addNode("draft", () => ({ note: "draft" }))
      .addNode("publish", (s) => ({ log: `published ${s.note}` }))
      .addEdge(START, "draft")
      .addEdge("draft", "publish")
      .addEdge("publish", END)
      .compile({ checkpointer: store.create(), interruptBefore: ["publish"] });
    const paused = await graph.invoke({}, { threadId: "t" });
    expect(paused.__interrupt__?.map((i) => i.kind)).toEqual(["before"]);
    const done = await graph.invoke(new Command({ update: { note: "edited" } }), {
      threadId: "t",
    });
    expect(done.__interrupt__).toBeUndefined();
    expect(done.log).toEqual(["published edited"]);
  });

  it("a run taken up after a crash still stops at a breakpoint it never showed", async () => {
    const ran: string[] = [];
    const graph = new StateGraph(State)
      .addNode("draft", () => {
        ran.push("draft");
        return { note: "draft" };
      })
      .addNode("publish", () => {
        ran.push("publish");
        return { log: "published" };
      })
      .addEdge(START, "draft")
      .addEdge("draft", "publish")
      .addEdge("publish", END)
      .compile({ checkpointer: store.create(), interruptBefore: ["publish"] });
    // The process dies right after the checkpoint that plans "publish", before the pause is saved.
    let commits = 0;
    armFault(
      "after-commit",
      () => {
        if (++commits === 2) throw new Error("crash");
      },
      2,
    );
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("crash");
    const resumed = await graph.invoke(null, { threadId: "t" });
    expect(resumed.__interrupt__?.map((i) => [i.kind, i.node])).toEqual([["before", "publish"]]);
    expect(ran).toEqual(["draft"]);
    const done = await graph.invoke(null, { threadId: "t" });
    expect(done.log).toEqual(["published"]);
  });

  it("Command({ resume, update }) applies the update before the node goes on", async () => {
    const sink = new DedupSink();
    const graph = new StateGraph(State)
      .addNode("ask", async (s, ctx) => {
        await ctx.effect("notify", ({ idempotencyKey }) => sink.apply(idempotencyKey, "notify"));
        const answer = interrupt<string>("ok?");
        return { log: `${answer} with note ${s.note}` };
      })
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile({ checkpointer: store.create() });
    await graph.invoke({ note: "old" }, { threadId: "t" });
    const done = await graph.invoke(new Command({ resume: "yes", update: { note: "new" } }), {
      threadId: "t",
    });
    expect(done.note).toBe("new");
    expect(done.log).toEqual(["yes with note new"]);
    // The edit kept the task and its recorded effect: the notification went out once, under one key.
    expect(sink.calls).toHaveLength(1);
  });

  describe("while a sibling is interrupted or failed", () => {
    function parallel(sink: DedupSink, runs: Record<string, number>, fail = false) {
      const count = (node: string) => (runs[node] = (runs[node] ?? 0) + 1);
      return new StateGraph(State)
        .addNode("a", async (_s, ctx) => {
          count("a");
          await ctx.effect("mail", ({ idempotencyKey }) => sink.apply(idempotencyKey, "mail"));
          return { log: "a" };
        })
        .addNode("b", () => {
          count("b");
          if (fail) throw new Error("b broke");
          return { log: `b:${interrupt<string>("b?")}` };
        })
        .addNode("c", () => {
          count("c");
          return { log: fail ? "c" : `c:${interrupt<string>("c?")}` };
        })
        .addEdge(START, "a")
        .addEdge(START, "b")
        .addEdge(START, "c")
        .addEdge(["a", "b", "c"], "done")
        .addNode("done", (s) => ({ answer: s.log.join(",") }))
        .addEdge("done", END)
        .compile({ checkpointer: store.create() });
    }

    it("shows finished tasks' writes in the result and getState, lists only unfinished tasks in next, and resumes one interrupt at a time", async () => {
      const sink = new DedupSink();
      const runs: Record<string, number> = {};
      const graph = parallel(sink, runs);
      const paused = await graph.invoke({}, { threadId: "t" });
      expect(paused.log).toEqual(["a"]);
      expect(paused.__interrupt__?.map((i) => i.node)).toEqual(["b", "c"]);
      let state = await graph.getState("t");
      expect(state?.values.log).toEqual(["a"]);
      expect(state?.next).toEqual(["b", "c"]);

      // Answer b alone: b finishes at once, c stays pending.
      const b = paused.__interrupt__!.find((i) => i.node === "b")!;
      const half = await graph.invoke(new Command({ resume: { [b.id]: "yes" } }), {
        threadId: "t",
      });
      expect(half.__interrupt__?.map((i) => i.node)).toEqual(["c"]);
      expect(half.log).toEqual(["a", "b:yes"]);
      state = await graph.getState("t");
      expect(state?.next).toEqual(["c"]);
      expect(state?.values.log).toEqual(["a", "b:yes"]);
      expect(runs).toEqual({ a: 1, b: 2, c: 1 });

      const done = await graph.invoke(new Command({ resume: "sure" }), { threadId: "t" });
      expect(done.answer).toBe("a,b:yes,c:sure");
      expect(runs).toEqual({ a: 1, b: 2, c: 2 });
      expect(sink.calls).toHaveLength(1);
    });

    it("shows a finished sibling's writes in getState when another task failed, and runs only the failed one again", async () => {
      const sink = new DedupSink();
      const runs: Record<string, number> = {};
      const failing = parallel(sink, runs, true);
      await expect(failing.invoke({}, { threadId: "t" })).rejects.toThrow("b broke");
      const state = await failing.getState("t");
      expect(state?.values.log).toEqual(["a", "c"]);
      expect(state?.next).toEqual(["b"]);
      expect(state?.tasks.find((t) => t.name === "b")?.error?.message).toBe("b broke");
      expect(state?.tasks.find((t) => t.name === "a")?.result).toEqual({ log: "a" });
    });
  });

  describe("without a checkpointer", () => {
    const graph = new StateGraph(State)
      .addNode("ask", () => ({ answer: interrupt<string>("?") }))
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile();

    it("fails fast with CHECKPOINTER_REQUIRED instead of pausing a thread nobody can resume", async () => {
      const error = await graph.invoke({}).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CheckpointerRequiredError);
      expect(error).toMatchObject({ code: "CHECKPOINTER_REQUIRED" });
      await expect(graph.invoke(new Command({ resume: "x" }))).rejects.toMatchObject({
        code: "CHECKPOINTER_REQUIRED",
      });
      await expect(graph.invoke(null)).rejects.toMatchObject({ code: "CHECKPOINTER_REQUIRED" });
    });

    it("also for a static breakpoint", async () => {
      const gated = new StateGraph(State)
        .addNode("a", () => ({ note: "a" }))
        .addEdge(START, "a")
        .addEdge("a", END)
        .compile({ interruptBefore: ["a"] });
      await expect(gated.invoke({})).rejects.toMatchObject({ code: "CHECKPOINTER_REQUIRED" });
    });

    it("still pauses and resumes when the caller names the thread (the graph's own in-memory store keeps it)", async () => {
      const paused = await graph.invoke({}, { threadId: "named" });
      expect(paused.__interrupt__).toHaveLength(1);
      const done = await graph.invoke(new Command({ resume: "ok" }), { threadId: "named" });
      expect(done.answer).toBe("ok");
    });
  });
});
