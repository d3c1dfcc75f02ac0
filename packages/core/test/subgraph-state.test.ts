import { describe, expect, it } from "vitest";
import { END, START, Send, StateGraph, defineState, interrupt } from "@waypoint/core";
import { STORES, appendLog } from "./support/stores.js";

const State = defineState({ log: appendLog() });

describe.each(STORES)("getState(threadId, { subgraphs: true }) on $name", (store) => {
  const build = () => {
    const reviewer = new StateGraph(State)
      .addNode("read", () => ({ log: "read" }))
      .addNode("approve", () => ({ log: `approved: ${interrupt<string>("ok?")}` }))
      .addEdge(START, "read")
      .addEdge("read", "approve")
      .addEdge("approve", END)
      .compile();
    const team = new StateGraph(State)
      .addNode("review", reviewer)
      .addEdge(START, "review")
      .addEdge("review", END)
      .compile();
    return new StateGraph(State)
      .addNode("intro", () => ({ log: "intro" }))
      .addNode("team", team)
      .addEdge(START, "intro")
      .addEdge("intro", "team")
      .addEdge("team", END)
      .compile({ checkpointer: store.create() });
  };

  it("gives each subgraph task its own snapshot, level by level, with its namespace and path", async () => {
    const graph = build();
    await graph.invoke({}, { threadId: "t" });
    const plain = await graph.getState("t");
    expect(plain?.tasks[0]).not.toHaveProperty("state");
    expect(plain?.tasks[0]?.path).toEqual(["__pregel_pull", "team"]);
    const state = await graph.getState("t", { subgraphs: true });
    const team = state?.tasks[0];
    expect(team?.namespace).toBe(`team:${team?.id}`);
    const review = team?.state?.tasks[0];
    expect(review?.name).toBe("review");
    expect(review?.namespace).toBe(`${team?.namespace}|review:${review?.id}`);
    expect(review?.state).toMatchObject({ next: ["approve"], values: { log: ["intro", "read"] } });
    expect(review?.state?.interrupts.map((i) => i.value)).toEqual(["ok?"]);
    // The subgraph's history, read through the root graph by its namespace.
    const history = [];
    for await (const snapshot of graph.getStateHistory("t", { namespace: review!.namespace! }))
      history.push(snapshot.next);
    expect(history).toEqual([["approve"], ["read"]]);
    const direct = await graph.getState("t", { namespace: review!.namespace! });
    expect(direct?.values).toEqual(review?.state?.values);
  });

  it("a namespace that is not a subgraph node's is INVALID_ARGUMENT", async () => {
    const graph = build();
    await graph.invoke({}, { threadId: "t" });
    await expect(graph.getState("t", { namespace: "intro:1" })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("a Send task's path is ['__pregel_push', index]", async () => {
    const graph = new StateGraph(State)
      .addNode("fan", () => ({}))
      .addNode("each", (item: { n: number }) => ({ log: `${item.n} ${interrupt<string>("go?")}` }))
      .addEdge(START, "fan")
      .addConditionalEdges("fan", () => [new Send("each", { n: 1 }), new Send("each", { n: 2 })])
      .addEdge("each", END)
      .compile({ checkpointer: store.create() });
    await graph.invoke({}, { threadId: "t" });
    const state = await graph.getState("t");
    expect(state?.tasks.map((t) => t.path)).toEqual([
      ["__pregel_push", 0],
      ["__pregel_push", 1],
    ]);
  });
});
