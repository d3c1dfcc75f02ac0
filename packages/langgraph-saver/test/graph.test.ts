import { AIMessage } from "@langchain/core/messages";
import {
  Annotation,
  Command,
  END,
  MemorySaver,
  MessagesAnnotation,
  START,
  StateGraph,
  interrupt,
} from "@langchain/langgraph";
import { CheckpointConflictError, MemoryCheckpointer } from "@waypoint/checkpoint";
import { describe, expect, it } from "vitest";
import { WaypointSaver } from "../src/index.js";

const graph = new StateGraph(MessagesAnnotation)
  .addNode("agent", (state) => ({
    messages: [new AIMessage(`reply ${state.messages.length}`)],
  }))
  .addEdge(START, "agent")
  .addEdge("agent", END);

/** Runs a thread twice, then once more from the end of its first run. */
async function runFromOlderCheckpoint(saver: WaypointSaver) {
  const app = graph.compile({ checkpointer: saver });
  const thread = { configurable: { thread_id: "t" } };
  await app.invoke({ messages: [{ role: "user", content: "one" }] }, thread);
  const afterFirst = (await app.getState(thread)).config;
  await app.invoke({ messages: [{ role: "user", content: "two" }] }, thread);
  return app.invoke({ messages: [{ role: "user", content: "again" }] }, afterFirst);
}

describe("a LangGraph.js graph on WaypointSaver", () => {
  it("forks when run from an older checkpoint, as LangGraph does", async () => {
    const state = await runFromOlderCheckpoint(new WaypointSaver(new MemoryCheckpointer()));
    expect(state.messages.map((message) => message.text)).toEqual([
      "one",
      "reply 1",
      "again",
      "reply 3",
    ]);
  });

  it("with strict: true, rejects that run with Waypoint's typed conflict", async () => {
    await expect(
      runFromOlderCheckpoint(new WaypointSaver(new MemoryCheckpointer(), { strict: true })),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
  });

  it("saves a run with durability 'exit' as MemorySaver does: one put, every channel it changed", async () => {
    const State = Annotation.Root({
      ...MessagesAnnotation.spec,
      plan: Annotation<string>,
      log: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
    });
    const pipeline = new StateGraph(State)
      .addNode("planner", () => ({ plan: "three steps", log: ["planned"] }))
      .addNode("act", (state) => ({
        messages: [new AIMessage({ content: "acted", id: `acted-${state.messages.length}` })],
        log: ["acted"],
      }))
      .addEdge(START, "planner")
      .addEdge("planner", "act")
      .addEdge("act", END);
    const states: { values: typeof State.State; history: unknown[] }[] = [];
    for (const checkpointer of [new MemorySaver(), new WaypointSaver(new MemoryCheckpointer())]) {
      const app = pipeline.compile({ checkpointer });
      const thread = { configurable: { thread_id: "exit" } };
      await app.invoke(
        { messages: [{ role: "user", content: "go", id: "go" }] },
        { ...thread, durability: "exit" },
      );
      await app.invoke(
        { messages: [{ role: "user", content: "again", id: "again" }] },
        { ...thread, durability: "exit" },
      );
      const history: unknown[] = [];
      for await (const snapshot of app.getStateHistory(thread)) history.push(snapshot.values);
      const snapshot = await app.getState(thread);
      states.push({ values: snapshot.values as typeof State.State, history });
    }
    expect(states[1]).toEqual(states[0]);
    expect(states[1]?.values.log).toEqual(["planned", "acted", "planned", "acted"]);
  });

  it("checkpoints a subgraph under its own namespace as MemorySaver does, through an interrupt", async () => {
    const inner = new StateGraph(MessagesAnnotation)
      .addNode("ask", () => {
        const answer: unknown = interrupt("which colour?");
        return { messages: [new AIMessage({ content: `picked ${String(answer)}`, id: "picked" })] };
      })
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile();
    const outer = new StateGraph(MessagesAnnotation)
      .addNode("inner", inner)
      .addNode("close", () => ({ messages: [new AIMessage({ content: "bye", id: "bye" })] }))
      .addEdge(START, "inner")
      .addEdge("inner", "close")
      .addEdge("close", END);
    const seen = [];
    for (const checkpointer of [new MemorySaver(), new WaypointSaver(new MemoryCheckpointer())]) {
      const app = outer.compile({ checkpointer });
      const thread = { configurable: { thread_id: "nested" } };
      await app.invoke({ messages: [{ role: "user", content: "hi", id: "hi" }] }, thread);
      const waiting = await app.getState(thread, { subgraphs: true });
      await app.invoke(new Command({ resume: "blue" }), thread);
      const done = await app.getState(thread);
      const namespaces = new Set<string>();
      for await (const tuple of checkpointer.list({ configurable: { thread_id: "nested" } })) {
        namespaces.add(String(tuple.config.configurable?.checkpoint_ns).split(":")[0]!);
      }
      seen.push({
        waiting: waiting.tasks.map((task) => [
          task.name,
          task.interrupts.map((i) => i.value as unknown),
          task.state !== undefined,
        ]),
        done: done.values as unknown,
        namespaces: [...namespaces].sort(),
      });
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]?.namespaces).toEqual(["", "inner"]);
  });
});
