import { describe, expect, it } from "vitest";
import { MemoryCheckpointer, type CheckpointHeader } from "@waypoint/checkpoint";
import {
  END,
  START,
  StateGraph,
  defineState,
  reducer,
  type StreamMode,
  type TaskEvent,
} from "@waypoint/core";

const State = defineState({
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
});

function graph() {
  return new StateGraph(State)
    .addNode("a", (_s, ctx) => {
      ctx.writer({ progress: "a half way" });
      return { log: "a" };
    })
    .addNode("b", () => ({ log: "b" }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", END)
    .compile({ checkpointer: new MemoryCheckpointer() });
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

describe("streaming", () => {
  it("values: the state after the input and after every superstep", async () => {
    expect(await collect(graph().stream({}, { threadId: "t" }))).toEqual([
      { log: [] },
      { log: ["a"] },
      { log: ["a", "b"] },
    ]);
  });

  it("updates: what each node returned", async () => {
    expect(await collect(graph().stream({}, { threadId: "t", streamMode: "updates" }))).toEqual([
      { a: { log: "a" } },
      { b: { log: "b" } },
    ]);
  });

  it("tasks: start and end of each task", async () => {
    const events = (await collect(
      graph().stream({}, { threadId: "t", streamMode: "tasks" }),
    )) as TaskEvent[];
    expect(events.map((e) => `${e.event} ${e.name} ${e.step}`)).toEqual([
      "start a 0",
      "end a 0",
      "start b 1",
      "end b 1",
    ]);
  });

  it("checkpoints: each saved checkpoint's header", async () => {
    const headers = (await collect(
      graph().stream({}, { threadId: "t", streamMode: "checkpoints" }),
    )) as CheckpointHeader[];
    expect(headers.map((h) => h.step)).toEqual([-1, 0, 1]);
  });

  it("custom: chunks from the node's writer; several modes at once come as [mode, payload]", async () => {
    const modes: StreamMode[] = ["custom", "updates"];
    const events = await collect(graph().stream({}, { threadId: "t", streamMode: modes }));
    expect(events).toEqual([
      ["custom", { progress: "a half way" }],
      ["updates", { a: { log: "a" } }],
      ["updates", { b: { log: "b" } }],
    ]);
  });

  it("stops the run when the consumer stops reading", async () => {
    const checkpointer = new MemoryCheckpointer();
    const looping = new StateGraph(State)
      .addNode("spin", () => ({ log: "spin" }))
      .addEdge(START, "spin")
      .addConditionalEdges("spin", () => "spin")
      .compile({ checkpointer });
    for await (const values of looping.stream({}, { threadId: "t", recursionLimit: 1000 })) {
      if ((values as { log: string[] }).log.length >= 3) break;
    }
    await new Promise((r) => setTimeout(r, 20));
    const state = await looping.getState("t");
    expect(state!.values.log.length).toBeLessThanOrEqual(4);
  });
});
