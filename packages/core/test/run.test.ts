import { describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  Command,
  END,
  InvalidRouteError,
  InvalidUpdateError,
  RecursionLimitError,
  START,
  Send,
  StateGraph,
  defineState,
  lastValue,
  reducer,
  topic,
} from "@waypoint/core";

const appendAll = reducer(
  (a: string[], b: string | string[]) => [...a, ...(Array.isArray(b) ? b : [b])],
  () => [] as string[],
);

describe("running a graph", () => {
  it("follows conditional edges through a path map, and loops until the router says END", async () => {
    const State = defineState({ count: lastValue<number>(), log: appendAll });
    const graph = new StateGraph(State)
      .addNode("tick", (s) => ({ count: (s.count ?? 0) + 1, log: `tick ${(s.count ?? 0) + 1}` }))
      .addEdge(START, "tick")
      .addConditionalEdges("tick", (s) => ((s.count ?? 0) >= 3 ? "stop" : "again"), {
        again: "tick",
        stop: END,
      })
      .compile({ checkpointer: new MemoryCheckpointer() });
    const result = await graph.invoke({ count: 0 }, { threadId: "loop" });
    expect(result).toEqual({ count: 3, log: ["tick 1", "tick 2", "tick 3"] });
  });

  it("lets a router see the writes of the node it follows", async () => {
    const State = defineState({ flag: lastValue<boolean>(), log: appendAll });
    const graph = new StateGraph(State)
      .addNode("decide", () => ({ flag: true }))
      .addNode("yes", () => ({ log: "yes" }))
      .addNode("no", () => ({ log: "no" }))
      .addEdge(START, "decide")
      .addConditionalEdges("decide", (s) => (s.flag ? "yes" : "no"), ["yes", "no"])
      .addEdge("yes", END)
      .addEdge("no", END)
      .compile();
    expect((await graph.invoke({ flag: false })).log).toEqual(["yes"]);
  });

  it("fails with a typed error, not a silent end, when a router names a node that does not exist", async () => {
    const State = defineState({ log: appendAll });
    const graph = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addEdge(START, "a")
      .addConditionalEdges("a", () => "nowhere")
      .compile();
    const error = await graph.invoke({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRouteError);
    expect((error as Error).message).toContain('"nowhere"');
    const mapped = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addEdge(START, "a")
      .addConditionalEdges("a", () => "other", { done: END })
      .compile();
    await expect(mapped.invoke({})).rejects.toThrow(/not in the path map: done/);
  });

  it("runs parallel branches in one superstep and applies their writes in plan order", async () => {
    const State = defineState({ log: appendAll });
    const order: string[] = [];
    const slow = (name: string, ms: number) => async () => {
      await new Promise((r) => setTimeout(r, ms));
      order.push(name);
      return { log: name };
    };
    const graph = new StateGraph(State)
      .addNode("first", slow("first", 30))
      .addNode("second", slow("second", 1))
      .addNode("join", (s) => ({ log: `join saw ${s.log.join("+")}` }))
      .addEdge(START, "first")
      .addEdge(START, "second")
      .addEdge(["first", "second"], "join")
      .addEdge("join", END)
      .compile();
    const result = await graph.invoke({});
    expect(order).toEqual(["second", "first"]); // finished in this order...
    expect(result.log).toEqual(["first", "second", "join saw first+second"]); // ...applied in plan order
  });

  it("waits at a fan-in until every source has run, even when they finish in different supersteps", async () => {
    const State = defineState({ log: appendAll });
    const graph = new StateGraph(State)
      .addNode("quick", () => ({ log: "quick" }))
      .addNode("slow1", () => ({ log: "slow1" }))
      .addNode("slow2", () => ({ log: "slow2" }))
      .addNode("join", () => ({ log: "join" }))
      .addEdge(START, "quick")
      .addEdge(START, "slow1")
      .addEdge("slow1", "slow2")
      .addEdge(["quick", "slow2"], "join")
      .addEdge("join", END)
      .compile();
    expect((await graph.invoke({})).log).toEqual(["quick", "slow1", "slow2", "join"]);
  });

  it("rejects parallel writes to a last-value channel, naming the channel and the nodes", async () => {
    const State = defineState({ winner: lastValue<string>() });
    const graph = new StateGraph(State)
      .addNode("left", () => ({ winner: "left" }))
      .addNode("right", () => ({ winner: "right" }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile();
    const error = await graph.invoke({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidUpdateError);
    expect((error as InvalidUpdateError).data).toEqual({
      channel: "winner",
      nodes: ["left", "right"],
    });
  });

  it("rejects an update to a key the state does not have", async () => {
    const State = defineState({ a: lastValue<number>() });
    const graph = new StateGraph(State)
      .addNode("n", () => ({ b: 1 }) as never)
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile();
    await expect(graph.invoke({ a: 1 })).rejects.toThrow(
      /"b" from "n": there is no such state key/,
    );
  });

  it("maps and reduces with Send: one task per item, each with its own payload", async () => {
    const State = defineState({ topics: lastValue<string[]>(), summaries: topic<string>() });
    const graph = new StateGraph(State)
      .addNode("summarise", (item: { topic: string }) => ({
        summaries: `summary of ${item.topic}`,
      }))
      .addNode("report", (s) => ({ topics: [`${s.summaries.length} summaries`] }))
      .addConditionalEdges(START, (s) =>
        (s.topics ?? []).map((topicName) => new Send("summarise", { topic: topicName })),
      )
      .addEdge("summarise", "report")
      .addEdge("report", END)
      .compile();
    const result = await graph.invoke({ topics: ["otters", "kelp", "tides"] });
    expect(result.summaries).toEqual(["summary of otters", "summary of kelp", "summary of tides"]);
    expect(result.topics).toEqual(["3 summaries"]);
  });

  it("follows a Command's goto along with its update", async () => {
    const State = defineState({ log: appendAll });
    const graph = new StateGraph(State)
      .addNode("router", () => new Command({ update: { log: "routed" }, goto: "target" }), {
        ends: ["target"],
      })
      .addNode("target", () => ({ log: "target" }))
      .addEdge(START, "router")
      .addEdge("target", END)
      .compile();
    expect((await graph.invoke({})).log).toEqual(["routed", "target"]);
  });
});

describe("the recursion limit", () => {
  const State = defineState({ n: lastValue<number>() });
  const counter = (steps: number) =>
    new StateGraph(State)
      .addNode("step", (s) => ({ n: (s.n ?? 0) + 1 }))
      .addEdge(START, "step")
      .addConditionalEdges("step", (s) => ((s.n ?? 0) >= steps ? END : "step"))
      .compile({ checkpointer: new MemoryCheckpointer() });

  it("lets a graph that needs exactly N supersteps finish with a limit of N, and stops it at N - 1", async () => {
    expect(await counter(7).invoke({ n: 0 }, { threadId: "a", recursionLimit: 7 })).toEqual({
      n: 7,
    });
    const error = await counter(7)
      .invoke({ n: 0 }, { threadId: "b", recursionLimit: 6 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecursionLimitError);
    expect((error as RecursionLimitError).code).toBe("RECURSION_LIMIT");
  });

  it("counts from the run's input, so resuming does not change the count", async () => {
    const State2 = defineState({ n: lastValue<number>() });
    const graph = new StateGraph(State2)
      .addNode("step", (s) => ({ n: (s.n ?? 0) + 1 }))
      .addEdge(START, "step")
      .addConditionalEdges("step", (s) => ((s.n ?? 0) >= 6 ? END : "step"))
      .compile({ checkpointer: new MemoryCheckpointer(), interruptAfter: ["step"] });
    let result = await graph.invoke({ n: 0 }, { threadId: "t", recursionLimit: 6 });
    while (result.__interrupt__)
      result = await graph.invoke(null, { threadId: "t", recursionLimit: 6 });
    expect(result.n).toBe(6);
  });

  it("defaults to 25", async () => {
    await expect(counter(26).invoke({ n: 0 }, { threadId: "c" })).rejects.toBeInstanceOf(
      RecursionLimitError,
    );
    expect(await counter(25).invoke({ n: 0 }, { threadId: "d" })).toEqual({ n: 25 });
  });
});
