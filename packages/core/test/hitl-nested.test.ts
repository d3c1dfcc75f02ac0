import { describe, expect, it } from "vitest";
import {
  Command,
  END,
  START,
  StateGraph,
  TerminalError,
  defineState,
  interrupt,
  lastValue,
} from "@waypoint/core";
import { appendLog, DedupSink, STORES } from "./support/stores.js";

const State = defineState({
  note: lastValue<string>(),
  log: appendLog(),
});

describe.each(STORES)("a subgraph invoked from a node on $name", (store) => {
  it("nests: it runs in the node's namespace, its interrupt pauses the parent, and the resume continues inside it", async () => {
    const sink = new DedupSink();
    const runs = { prep: 0, ask: 0 };
    const inner = new StateGraph(State)
      .addNode("prep", async (s, ctx) => {
        runs.prep += 1;
        await ctx.effect("book", ({ idempotencyKey }) => sink.apply(idempotencyKey, "book"));
        return { log: `prep ${s.note}` };
      })
      .addNode("ask", () => {
        runs.ask += 1;
        return { note: `approved: ${interrupt<string>("approve?")}` };
      })
      .addEdge(START, "prep")
      .addEdge("prep", "ask")
      .addEdge("ask", END)
      .compile();
    const graph = new StateGraph(State)
      .addNode("delegate", async (s) => {
        const out = await inner.invoke({ note: s.note });
        return { log: `inner said ${out.note}` };
      })
      .addEdge(START, "delegate")
      .addEdge("delegate", END)
      .compile({ checkpointer: store.create() });

    const paused = await graph.invoke({ note: "trip" }, { threadId: "t" });
    expect(paused.__interrupt__?.map((i) => i.value)).toEqual(["approve?"]);
    const state = await graph.getState("t");
    expect(state?.interrupts).toHaveLength(1);
    expect(state?.interrupts[0]?.namespace).toMatch(/^delegate:/);

    const done = await graph.invoke(new Command({ resume: "yes" }), { threadId: "t" });
    expect(done.log).toEqual(["inner said approved: yes"]);
    expect(runs).toEqual({ prep: 1, ask: 2 });
    expect(sink.calls).toHaveLength(1);
  });

  it("gives each call of a node its own namespace", async () => {
    const inner = new StateGraph(State)
      .addNode("echo", (s) => ({ note: `echo ${s.note}` }))
      .addEdge(START, "echo")
      .addEdge("echo", END)
      .compile();
    const graph = new StateGraph(State)
      .addNode("twice", async () => {
        const first = await inner.invoke({ note: "one" });
        const second = await inner.invoke({ note: "two" });
        return { log: `${first.note}, ${second.note}` };
      })
      .addEdge(START, "twice")
      .addEdge("twice", END)
      .compile({ checkpointer: store.create() });
    const done = await graph.invoke({}, { threadId: "t" });
    expect(done.log).toEqual(["echo one, echo two"]);
  });
});

describe.each(STORES)("an effect that failed with TerminalError on $name", (store) => {
  it("replays its failure on invoke(null), and runs again under a new key after retryFailedEffects", async () => {
    const keys: string[] = [];
    let declined = true;
    const graph = new StateGraph(State)
      .addNode("pay", async (_s, ctx) => {
        const receipt = await ctx.effect("charge", ({ idempotencyKey }) => {
          keys.push(idempotencyKey);
          if (declined) throw new TerminalError("card declined");
          return "paid";
        });
        return { log: receipt };
      })
      .addEdge(START, "pay")
      .addEdge("pay", END)
      .compile({ checkpointer: store.create() });
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("card declined");
    declined = false;
    // The recorded failure is an outcome: a plain resume replays it without calling the service.
    await expect(graph.invoke(null, { threadId: "t" })).rejects.toThrow("card declined");
    expect(keys).toHaveLength(1);

    const cleared = await graph.retryFailedEffects("t");
    expect(cleared).toMatchObject([
      { node: "pay", name: "charge", index: 0, retries: 1, error: { message: "card declined" } },
    ]);
    const done = await graph.invoke(null, { threadId: "t" });
    expect(done.log).toEqual(["paid"]);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
    // Nothing left to clear.
    expect(await graph.retryFailedEffects("t")).toEqual([]);
  });
});
