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
