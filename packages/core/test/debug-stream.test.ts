import { describe, expect, it } from "vitest";
import { END, START, StateGraph, defineState, interrupt, type DebugEvent } from "@waypoint/core";
import { STORES, appendLog, collect } from "./support/stores.js";

const State = defineState({ log: appendLog() });

describe.each(STORES)('streamMode: "debug" on $name', (store) => {
  it("reports checkpoints, tasks with their triggers, and task results, in order", async () => {
    const graph = new StateGraph(State)
      .addNode("a", () => ({ log: "a" }))
      .addNode("b", () => ({ log: "b" }))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile({ checkpointer: store.create() });
    const events = (await collect(
      graph.stream({ log: "in" }, { threadId: "t", streamMode: "debug" }),
    )) as DebugEvent[];
    expect(events.map((e) => [e.type, e.step])).toEqual([
      // As in LangGraph, the input's checkpoint is step -1 and the first superstep step 0.
      ["checkpoint", -1],
      ["task", 0],
      ["task_result", 0],
      ["checkpoint", 0],
      ["task", 1],
      ["task_result", 1],
      ["checkpoint", 1],
    ]);
    for (const event of events) expect(Number.isNaN(Date.parse(event.timestamp))).toBe(false);
    const [first, task, result, second] = events;
    expect(first).toMatchObject({
      payload: { values: { log: ["in"] }, next: ["a"], metadata: { source: "input" } },
    });
    expect(task).toMatchObject({
      payload: { name: "a", input: { log: ["in"] }, triggers: ["branch:to:a"] },
    });
    expect(result).toMatchObject({
      payload: { name: "a", result: [["log", "a"]], interrupts: [] },
    });
    expect(task?.type === "task" && task.payload.id).toBe(
      result?.type === "task_result" && result.payload.id,
    );
    expect(second).toMatchObject({ payload: { values: { log: ["in", "a"] }, next: ["b"] } });
    // The checkpoint events name stored checkpoints.
    const stored = await graph.getState("t");
    expect(events.at(-1)).toMatchObject({
      payload: { config: { threadId: "t", checkpointId: stored?.checkpointId } },
    });
  });

  it("an interrupted task's result carries its interrupts", async () => {
    const graph = new StateGraph(State)
      .addNode("ask", () => ({ log: interrupt<string>("ok?") }))
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile({ checkpointer: store.create() });
    const events = (await collect(graph.stream({}, { threadId: "t", streamMode: ["debug"] }))) as [
      string,
      DebugEvent,
    ][];
    const result = events.map(([, e]) => e).find((e) => e.type === "task_result");
    expect(result).toMatchObject({ payload: { name: "ask", result: [] } });
    expect(result?.type === "task_result" && result.payload.interrupts[0]?.value).toBe("ok?");
  });
});
