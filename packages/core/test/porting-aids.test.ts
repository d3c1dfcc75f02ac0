import { describe, expect, expectTypeOf, it } from "vitest";
import { Annotation, END, START, StateGraph, lastValue } from "@waypoint/core";
import { STORES } from "./support/stores.js";

// A LangGraph.js state definition, as written for LangGraph.
const GraphState = Annotation.Root({
  topic: Annotation<string>,
  draft: Annotation<string>(),
  notes: Annotation<string[]>({
    reducer: (current, update) => current.concat(update),
    default: () => [],
  }),
  count: Annotation<number>({ reducer: (a, b) => (a ?? 0) + b }),
});

describe.each(STORES)("porting aids on $name", (store) => {
  it("Annotation.Root compiles unchanged: bare and called Annotation<T> keep the last value, { reducer, default } reduces", async () => {
    const graph = new StateGraph(GraphState)
      .addNode("research", (state: typeof GraphState.State) => ({
        notes: [`about ${state.topic}`],
        count: 1,
      }))
      .addNode("write", (state: typeof GraphState.State) => ({
        draft: `${state.notes.length} notes`,
        notes: ["written"],
        count: 2,
      }))
      .addEdge(START, "research")
      .addEdge("research", "write")
      .addEdge("write", END)
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({ topic: "otters" }, { threadId: "t" });
    expect(result).toEqual({
      topic: "otters",
      draft: "1 notes",
      notes: ["about otters", "written"],
      count: 3,
    });
    expectTypeOf(result.notes).toEqualTypeOf<string[]>();
    // Read before any write, a key without a default is undefined, so its type says so.
    expectTypeOf<(typeof GraphState.State)["topic"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<(typeof GraphState.State)["draft"]>().toEqualTypeOf<string | undefined>();
    // A reload rebuilds the same state from the store.
    expect((await graph.getState("t"))?.values).toEqual(result);
  });

  it("addSequence chains nodes in order (a list of [name, fn] or a record)", async () => {
    const State = Annotation.Root({
      log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
    });
    const graph = new StateGraph(State)
      .addSequence([
        ["one", () => ({ log: ["one"] })],
        ["two", () => ({ log: ["two"] })],
      ])
      .addSequence({ three: () => ({ log: ["three"] }), four: () => ({ log: ["four"] }) })
      .addEdge(START, "one")
      .addEdge("two", "three")
      .addEdge("four", END)
      .compile({ checkpointer: store.create() });
    expect((await graph.invoke({}, { threadId: "t" })).log).toEqual([
      "one",
      "two",
      "three",
      "four",
    ]);
  });

  it("addSequence of nothing, or of a duplicate name, is a typed error", () => {
    const State = Annotation.Root({ x: Annotation<number> });
    expect(() => new StateGraph(State).addSequence([])).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() =>
      new StateGraph(State)
        .addSequence([
          ["a", () => ({})],
          ["a", () => ({})],
        ])
        .addEdge(START, "a")
        .compile(),
    ).toThrow(expect.objectContaining({ code: "INVALID_GRAPH" }));
  });

  it("getGraph returns the nodes and edges, conditional ones marked", () => {
    const graph = new StateGraph(GraphState)
      .addNode("a", () => ({}))
      .addNode("b", () => ({}))
      .addNode("c", () => ({}))
      .addEdge(START, "a")
      .addConditionalEdges("a", () => "b", ["b", "c"])
      .addEdge(["b"], "c")
      .addEdge("c", END)
      .compile({ checkpointer: store.create() });
    const drawn = graph.getGraph();
    expect(drawn.nodes.map((n) => n.id)).toEqual(["__start__", "a", "b", "c", "__end__"]);
    expect(drawn.edges).toEqual([
      { source: "__start__", target: "a", conditional: false },
      { source: "c", target: "__end__", conditional: false },
      { source: "b", target: "c", conditional: false },
      { source: "a", target: "b", conditional: true },
      { source: "a", target: "c", conditional: true },
    ]);
  });

  it("a StateGraph of a defineState object still works beside the shim", async () => {
    const graph = new StateGraph({ x: lastValue<number>() })
      .addNode("n", (s) => ({ x: (s.x ?? 0) + 1 }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile({ checkpointer: store.create() });
    expect((await graph.invoke({ x: 1 }, { threadId: "t" })).x).toBe(2);
  });
});
