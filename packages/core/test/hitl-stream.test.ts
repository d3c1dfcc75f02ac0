import { describe, expect, it } from "vitest";
import {
  Command,
  END,
  START,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
  type TaskEvent,
} from "@waypoint/core";
import { appendLog, STORES, collect } from "./support/stores.js";

const State = defineState({
  note: lastValue<string>(),
  log: appendLog(),
});

describe.each(STORES)("streaming a pause on $name", (store) => {
  function asking() {
    return new StateGraph(State)
      .addNode("draft", () => ({ log: "draft" }))
      .addNode("review", () => ({ log: `review: ${interrupt<string>("ok?")}` }))
      .addEdge(START, "draft")
      .addEdge("draft", "review")
      .addEdge("review", END)
      .compile({ checkpointer: store.create() });
  }

  it("ends an updates stream and a values stream with { __interrupt__ } when the run pauses", async () => {
    const graph = asking();
    const updates = await collect(graph.stream({}, { threadId: "u", streamMode: "updates" }));
    const state = await graph.getState("u");
    expect(updates).toEqual([{ draft: { log: "draft" } }, { __interrupt__: state?.interrupts }]);

    const values = await collect(graph.stream({}, { threadId: "v", streamMode: "values" }));
    const paused = await graph.getState("v");
    expect(values.at(-1)).toEqual({ __interrupt__: paused?.interrupts });
    expect(values.at(-2)).toEqual(paused?.values);
  });

  it("a resume stream in values mode starts with the current values", async () => {
    const graph = asking();
    await graph.invoke({}, { threadId: "t" });
    const values = await collect(
      graph.stream(new Command({ resume: "yes" }), { threadId: "t", streamMode: "values" }),
    );
    expect(values).toEqual([{ log: ["draft"] }, { log: ["draft", "review: yes"] }]);
  });

  it("a static breakpoint streams { __interrupt__: [] }", async () => {
    const graph = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addNode("b", () => ({ log: "b" }))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile({ checkpointer: store.create(), interruptBefore: ["b"] });
    const updates = await collect(graph.stream({}, { threadId: "t", streamMode: "updates" }));
    expect(updates).toEqual([{ a: { log: "a" } }, { __interrupt__: [] }]);
  });

  it("a subgraph's pause streams in its namespace and again at the root", async () => {
    const inner = new StateGraph(State)
      .addNode("ask", () => ({ log: `inner: ${interrupt<string>("?")}` }))
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile();
    const graph = new StateGraph(State)
      .addNode("sub", inner)
      .addEdge(START, "sub")
      .addEdge("sub", END)
      .compile({ checkpointer: store.create() });
    const items = (await collect(
      graph.stream({}, { threadId: "t", streamMode: "updates", subgraphs: true }),
    )) as [string[], Record<string, unknown>][];
    const pauses = items.filter(([, data]) => "__interrupt__" in data);
    expect(pauses.map(([namespace]) => namespace.map((level) => level.split(":")[0]))).toEqual([
      ["sub"],
      [],
    ]);
    const state = await graph.getState("t");
    expect(pauses[1]![1]).toEqual({ __interrupt__: state?.interrupts });
  });

  it("replays a finished sibling's saved write as a cached update, without running it again", async () => {
    let ranA = 0;
    const graph = new StateGraph(State)
      .addNode("a", () => {
        ranA += 1;
        return { log: "a" };
      })
      .addNode("b", () => ({ log: `b: ${interrupt<string>("?")}` }))
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge("a", END)
      .addEdge("b", END)
      .compile({ checkpointer: store.create() });
    await graph.invoke({}, { threadId: "t" });
    const updates = await collect(
      graph.stream(new Command({ resume: "yes" }), { threadId: "t", streamMode: "updates" }),
    );
    expect(updates).toEqual([
      { a: { log: "a" }, __metadata__: { cached: true } },
      { b: { log: "b: yes" } },
    ]);
    expect(ranA).toBe(1);
  });
});

describe.each(STORES)("task results on $name", (store) => {
  const graph = () =>
    new StateGraph(State)
      .addNode("a", () => ({ log: "a", note: "from a" }))
      .addNode("b", () => ({ log: `b: ${interrupt<string>("?")}` }))
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge("a", END)
      .addEdge("b", END)
      .compile({ checkpointer: store.create() });

  it("getState and getStateHistory tasks carry each finished task's result", async () => {
    const g = graph();
    await g.invoke({}, { threadId: "t" });
    const paused = await g.getState("t");
    expect(paused?.tasks.map((t) => [t.name, t.result])).toEqual([
      ["a", { log: "a", note: "from a" }],
      ["b", undefined],
    ]);
    await g.invoke(new Command({ resume: "yes" }), { threadId: "t" });
    const history = [];
    for await (const snapshot of g.getStateHistory("t")) history.push(snapshot);
    const ran = history.find((s) => s.tasks.length === 2)!;
    expect(ran.tasks.map((t) => [t.name, t.result])).toEqual([
      ["a", { log: "a", note: "from a" }],
      ["b", { log: "b: yes" }],
    ]);
    const byId = await g.getState("t", { checkpointId: ran.checkpointId });
    expect(byId?.tasks.map((t) => t.result)).toEqual(ran.tasks.map((t) => t.result));
  });

  it("the tasks stream gives start, then the update, then the result", async () => {
    const chain = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addEdge(START, "a")
      .addEdge("a", END)
      .compile({ checkpointer: store.create() });
    const items = (await collect(
      chain.stream({}, { threadId: "t", streamMode: ["tasks", "updates"] }),
    )) as [string, unknown][];
    expect(
      items.map(([mode, data]) => (mode === "tasks" ? (data as TaskEvent).event : mode)),
    ).toEqual(["start", "updates", "end"]);
    const end = items[2]![1] as TaskEvent & { result?: unknown };
    expect(end.result).toEqual({ log: "a" });
  });
});
