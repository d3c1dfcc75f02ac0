import { afterEach, describe, expect, it } from "vitest";
import { Command, END, START, StateGraph, defineState, lastValue } from "@waypoint/core";
import { armFault, disarmFaults } from "@waypoint/core/testing";
import { DedupSink, STORES, appendLog } from "./support/stores.js";

afterEach(() => disarmFaults());

const State = defineState({ log: appendLog(), owner: lastValue<string>() });

describe.each(STORES)("Command.PARENT on $name", (store) => {
  /** An agent (a subgraph) whose "work" node hands off to `target` in the parent graph. */
  const agent = (target: string, onWork: () => void = () => undefined) =>
    new StateGraph(State)
      .addNode("work", () => {
        onWork();
        return new Command({ graph: Command.PARENT, goto: target, update: { owner: target } });
      })
      // A sibling of the same step and the static edge out of "work": discarded with the handoff.
      .addNode("sibling", () => ({ log: "sibling" }))
      .addNode("after", () => ({ log: "after (never runs)" }))
      .addEdge(START, "work")
      .addEdge(START, "sibling")
      .addEdge("sibling", END)
      .addEdge("work", "after")
      .addEdge("after", END)
      .compile();

  it("routes to a node of the parent and writes the parent's state; the subgraph's writes of that step are dropped", async () => {
    const graph = new StateGraph(State)
      .addNode("alice", agent("bob"), { ends: ["bob"] })
      .addNode("bob", (s) => ({ log: `bob (owner ${s.owner})` }))
      .addEdge("bob", END)
      .addEdge(START, "alice")
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({ log: "start" }, { threadId: "t" });
    expect(result.log).toEqual(["start", "bob (owner bob)"]);
    expect(result.owner).toBe("bob");
  });

  it("a PARENT goto and the subgraph node's static edge both run", async () => {
    const graph = new StateGraph(State)
      .addNode("alice", agent("bob"), { ends: ["bob"] })
      .addNode("bob", () => ({ log: "bob" }))
      .addNode("audit", () => ({ log: "audit" }))
      .addEdge("bob", END)
      .addEdge("audit", END)
      .addEdge(START, "alice")
      .addEdge("alice", "audit")
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({}, { threadId: "t" });
    expect(result.log).toEqual(["bob", "audit"]);
  });

  it("goes up one level at a time: grandchild → child's node → root's node", async () => {
    const child = new StateGraph(State)
      .addNode("inner", agent("relay"), { ends: ["relay"] })
      .addNode("relay", () => new Command({ graph: Command.PARENT, goto: "root-end" }))
      .addEdge(START, "inner")
      .addEdge("relay", END)
      .compile();
    const graph = new StateGraph(State)
      .addNode("team", child, { ends: ["root-end"] })
      .addNode("root-end", (s) => ({ log: `root-end (owner ${s.owner})` }))
      .addEdge("root-end", END)
      .addEdge(START, "team")
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({}, { threadId: "t" });
    // "relay" was the grandchild's target in the child graph; its own write there never reached the root.
    expect(result.log).toEqual(["root-end (owner undefined)"]);
    expect(result.owner).toBeUndefined();
  });

  it("works from a subgraph a node calls with await sub.invoke(state)", async () => {
    const inner = agent("bob");
    const graph = new StateGraph(State)
      .addNode(
        "alice",
        async (s) => {
          await inner.invoke({ owner: s.owner });
          return { log: "alice kept going (never)" };
        },
        { ends: ["bob"] },
      )
      .addNode("bob", (s) => ({ log: `bob (owner ${s.owner})` }))
      .addEdge(START, "alice")
      .addEdge("bob", END)
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({}, { threadId: "t" });
    expect(result.log).toEqual(["bob (owner bob)"]);
  });

  it("Command.PARENT from the root graph is INVALID_UPDATE and the step is not committed", async () => {
    const graph = new StateGraph(State)
      .addNode("solo", () => new Command({ graph: Command.PARENT, update: { log: "x" } }))
      .addEdge(START, "solo")
      .addEdge("solo", END)
      .compile({ checkpointer: store.create() });
    await expect(graph.invoke({ log: "in" }, { threadId: "t" })).rejects.toMatchObject({
      code: "INVALID_UPDATE",
    });
    const state = await graph.getState("t");
    expect(state?.values.log).toEqual(["in"]);
    expect(state?.next).toEqual(["solo"]);
  });

  it("a crash as the parent records the handoff resumes at the right agent, each effect once", async () => {
    const sink = new DedupSink();
    let handedOff = false;
    const alice = new StateGraph(State)
      .addNode("charge", async (_s, ctx) => {
        await ctx.effect("charge", ({ idempotencyKey }) => sink.apply(idempotencyKey, "charge"));
        return { log: "charged" };
      })
      .addNode("handoff", () => {
        handedOff = true;
        return new Command({ graph: Command.PARENT, goto: "bob", update: { owner: "bob" } });
      })
      .addEdge(START, "charge")
      .addEdge("charge", "handoff")
      .addEdge("handoff", END)
      .compile();
    const graph = new StateGraph(State)
      .addNode("alice", alice, { ends: ["bob"] })
      .addNode("bob", async (_s, ctx) => {
        await ctx.effect("ship", ({ idempotencyKey }) => sink.apply(idempotencyKey, "ship"));
        return { log: "shipped" };
      })
      .addEdge(START, "alice")
      .addEdge("bob", END)
      .compile({ checkpointer: store.create() });
    // The first commit after the handoff is the parent's: the process dies before it is stored.
    let crashed = false;
    armFault(
      "before-commit",
      () => {
        if (handedOff && !crashed) {
          crashed = true;
          throw new Error("crash");
        }
      },
      100,
    );
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("crash");
    expect((await graph.getState("t"))?.next).toEqual(["alice"]);
    const result = await graph.invoke(null, { threadId: "t" });
    // The subgraph's "charged" was written in a step of its own, so the parent got the handoff's writes only.
    expect(result.log).toEqual(["shipped"]);
    expect(result.owner).toBe("bob");
    expect(sink.count("charge")).toBe(1);
    expect(sink.count("ship")).toBe(1);
    // The handoff is a recorded step of the parent: a checkpoint whose plan is bob.
    const plans: string[][] = [];
    for await (const snapshot of graph.getStateHistory("t")) plans.push([...snapshot.next]);
    expect(plans).toContainEqual(["bob"]);
  });
});
