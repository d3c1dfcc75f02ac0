import { describe, expect, expectTypeOf, it } from "vitest";
import {
  Command,
  END,
  INTERRUPT,
  START,
  StateGraph,
  defineState,
  interrupt,
  isInterrupted,
  lastValue,
  reducer,
} from "@waypoint/core";
import { STORES, collect } from "./support/stores.js";

// LangGraph.js names a graph written for LangGraph uses, which Waypoint takes unchanged.

const State = defineState({
  topic: lastValue<string>(),
  log: reducer(
    (a: string[], b: string | string[]) => a.concat(b),
    () => [] as string[],
  ),
});

describe.each(STORES)("isInterrupted and INTERRUPT on $name", (store) => {
  it("isInterrupted tells a paused result from a finished one, and INTERRUPT is its key", async () => {
    expect(INTERRUPT).toBe("__interrupt__");
    const graph = new StateGraph(State)
      .addNode("ask", () => ({ topic: interrupt<string>("topic?") }))
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile({ checkpointer: store.create() });
    const paused = await graph.invoke({}, { threadId: "t" });
    expect(isInterrupted(paused)).toBe(true);
    if (!isInterrupted<string>(paused)) throw new Error("unreachable");
    expectTypeOf(paused[INTERRUPT][0]!.value).toEqualTypeOf<string>();
    expect(paused[INTERRUPT].map((i) => i.value)).toEqual(["topic?"]);

    const done = await graph.invoke(new Command({ resume: "otters" }), { threadId: "t" });
    expect(isInterrupted(done)).toBe(false);
    expect(done.topic).toBe("otters");
  });

  it("isInterrupted is true at a static pause, in invoke's result and in a stream's chunk", async () => {
    const graph = new StateGraph(State)
      .addNode("work", () => ({ log: "work" }))
      .addEdge(START, "work")
      .addEdge("work", END)
      .compile({ checkpointer: store.create(), interruptBefore: ["work"] });
    expect(isInterrupted(await graph.invoke({}, { threadId: "a" }))).toBe(true);
    const chunks = await collect(graph.stream({}, { threadId: "b", streamMode: "updates" }));
    expect(chunks.filter((chunk) => isInterrupted(chunk))).toHaveLength(1);
  });
});

describe.each(STORES)(
  "setEntryPoint, setFinishPoint and addConditionalEdges({ source, path, pathMap }) on $name",
  (store) => {
    it("setEntryPoint and setFinishPoint add the edges from START and to END", async () => {
      const graph = new StateGraph(State)
        .addNode("one", () => ({ log: "one" }))
        .addNode("two", () => ({ log: "two" }))
        .setEntryPoint("one")
        .addEdge("one", "two")
        .setFinishPoint("two")
        .compile({ checkpointer: store.create() });
      expect((await graph.invoke({ topic: "t" }, { threadId: "t" })).log).toEqual(["one", "two"]);
      expect(graph.getGraph().edges).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ source: START, target: "one" }),
          expect.objectContaining({ source: "two", target: END }),
        ]),
      );
    });

    it("addConditionalEdges takes LangGraph's object form, with a list or a record as its path map", async () => {
      const build = (form: "positional" | "object", pathMap: "list" | "record") => {
        const path = (s: { topic?: string }) => (s.topic === "left" ? "left" : "right");
        const map = pathMap === "list" ? ["left", "right"] : { left: "left", right: "right" };
        const graph = new StateGraph(State)
          .addNode("start", () => ({ log: "start" }))
          .addNode("left", () => ({ log: "left" }))
          .addNode("right", () => ({ log: "right" }))
          .addEdge(START, "start")
          .addEdge("left", END)
          .addEdge("right", END);
        return (
          form === "object"
            ? graph.addConditionalEdges({ source: "start", path, pathMap: map })
            : graph.addConditionalEdges("start", path, map)
        ).compile({ checkpointer: store.create() });
      };
      for (const pathMap of ["list", "record"] as const) {
        for (const topic of ["left", "up"]) {
          const positional = await build("positional", pathMap).invoke(
            { topic },
            { threadId: "t" },
          );
          const object = await build("object", pathMap).invoke({ topic }, { threadId: "t" });
          expect(object).toEqual(positional);
          expect(object.log).toEqual(["start", topic === "left" ? "left" : "right"]);
        }
      }
    });
  },
);

describe("LangGraph's object form of addConditionalEdges", () => {
  it("checks its path map's nodes, and refuses a missing path", () => {
    const base = () =>
      new StateGraph(State)
        .addNode("a", () => ({}))
        .addEdge(START, "a")
        .addEdge("a", END);
    expect(() =>
      base()
        .addConditionalEdges({ source: "a", path: () => "nowhere", pathMap: ["nowhere"] })
        .compile(),
    ).toThrow(/the path map of "a" names unknown node "nowhere"/);
    expect(() => base().addConditionalEdges({ source: "a" } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_GRAPH", data: { node: "a" } }),
    );
    expect(() => base().addConditionalEdges("a", undefined as never)).toThrow(
      /the path of the conditional edge from "a" is undefined/,
    );
  });
});
