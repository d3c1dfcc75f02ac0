import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { END, START, StateGraph, defineState } from "@waypoint/core";
import { STORES, appendLog } from "./support/stores.js";

const State = defineState({ log: appendLog() });

/** Branches of the given lengths from START, all ending in "join". */
function uneven(lengths: readonly number[], defer: boolean) {
  const graph = new StateGraph(State);
  lengths.forEach((length, b) => {
    for (let i = 0; i < length; i += 1) {
      const name = `b${b}-${i}`;
      graph.addNode(name, () => ({ log: name }));
      graph.addEdge(i === 0 ? START : `b${b}-${i - 1}`, name);
    }
    graph.addEdge(`b${b}-${length - 1}`, "join");
  });
  graph.addNode("join", (s) => ({ log: `join saw ${s.log.length}` }), { defer });
  graph.addEdge("join", END);
  return graph;
}

describe.each(STORES)("addNode(name, fn, { defer: true }) on $name", (store) => {
  it("a join of uneven branches runs once, after the longest branch", async () => {
    const graph = uneven([1, 3], true).compile({ checkpointer: store.create() });
    const result = await graph.invoke({}, { threadId: "t" });
    expect(result.log).toEqual(["b0-0", "b1-0", "b1-1", "b1-2", "join saw 4"]);
    // The deferred node waited in the plan of no checkpoint until nothing else was left.
    const plans: string[][] = [];
    for await (const snapshot of graph.getStateHistory("t")) plans.unshift([...snapshot.next]);
    expect(plans).toEqual([["b0-0", "b1-0"], ["b1-1"], ["b1-2"], ["join"], []]);
  });

  it("without defer the same join runs once per branch (the test's control)", async () => {
    const graph = uneven([1, 3], false).compile({ checkpointer: store.create() });
    const result = await graph.invoke({}, { threadId: "t" });
    expect(result.log.filter((line) => line.startsWith("join"))).toHaveLength(2);
  });

  it("a deferred node triggered again after it ran runs again", async () => {
    let rounds = 0;
    const graph = new StateGraph(State)
      .addNode("work", () => ({ log: "work" }))
      .addNode("slow", () => ({ log: "slow" }))
      .addNode("join", () => ({ log: `join ${++rounds}` }), { defer: true })
      .addEdge(START, "work")
      .addEdge(START, "slow")
      .addEdge("work", "join")
      .addEdge("slow", "join")
      .addConditionalEdges("join", () => (rounds < 2 ? "work" : END), ["work", END])
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({}, { threadId: "t" });
    expect(result.log).toEqual(["work", "slow", "join 1", "work", "join 2"]);
  });

  it("a fan-in edge into a deferred node is INVALID_GRAPH", () => {
    const graph = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addNode("b", () => ({ log: "b" }))
      .addNode("join", () => ({ log: "join" }), { defer: true })
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge(["a", "b"], "join")
      .addEdge("join", END);
    expect(() => graph.compile({ checkpointer: store.create() })).toThrow(
      expect.objectContaining({ code: "INVALID_GRAPH" }),
    );
  });
});

describe("defer (property)", () => {
  it("for any branch lengths, the deferred join runs once and sees every branch's writes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
        async (lengths) => {
          const result = await uneven(lengths, true).compile().invoke({});
          const total = lengths.reduce((a, b) => a + b, 0);
          expect(result.log).toHaveLength(total + 1);
          expect(result.log.at(-1)).toBe(`join saw ${total}`);
        },
      ),
      { numRuns: 60 },
    );
  });
});
