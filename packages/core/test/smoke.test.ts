import { expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, lastValue, reducer } from "@waypoint/core";

it("runs a two-node graph and checkpoints every superstep", async () => {
  const State = defineState({
    topic: lastValue<string>(),
    notes: reducer(
      (a: string[], b: string) => [...a, b],
      () => [] as string[],
    ),
  });
  const checkpointer = new MemoryCheckpointer();
  const graph = new StateGraph(State)
    .addNode("plan", (s) => ({ notes: `planned ${s.topic}` }))
    .addNode("write", () => ({ notes: "written" }))
    .addEdge(START, "plan")
    .addEdge("plan", "write")
    .addEdge("write", END)
    .compile({ checkpointer });
  const result = await graph.invoke({ topic: "otters" }, { threadId: "t1" });
  expect(result).toEqual({ topic: "otters", notes: ["planned otters", "written"] });
  const history = [];
  for await (const s of graph.getStateHistory("t1")) history.push(s);
  expect(history.map((h) => [h.step, h.next])).toEqual([
    [1, []],
    [0, ["write"]],
    [-1, ["plan"]],
  ]);
});
