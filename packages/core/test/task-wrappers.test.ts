import { afterEach, describe, expect, it } from "vitest";
import {
  Command,
  END,
  START,
  Send,
  StateGraph,
  defineState,
  lastValue,
  reducer,
  registerTaskWrapper,
  type MessageMetadata,
  type NodeContext,
  type WrappedTask,
} from "@waypoint/core";
import { STORES, collect } from "./support/stores.js";

const State = defineState({
  log: reducer(
    (a: string[], b: string | string[]) => [...a, ...(Array.isArray(b) ? b : [b])],
    () => [] as string[],
  ),
  topic: lastValue<string>(),
});

let unregister: (() => void) | undefined;
afterEach(() => {
  unregister?.();
  unregister = undefined;
});

describe.each(STORES)("task wrappers ($name)", (store) => {
  it("wrap every node call, with the task's input, metadata and whether messages stream", async () => {
    const seen: { node: string; streams: boolean; input: unknown; meta: MessageMetadata }[] = [];
    unregister = registerTaskWrapper((task, call) => {
      seen.push({
        node: task.context.node,
        streams: task.streamsMessages,
        input: task.input,
        meta: task.metadata,
      });
      // A derived context reaches the node.
      return call({ ...task.context, writer: () => undefined, threadId: "seen-by-wrapper" });
    });
    const graph = new StateGraph(State)
      .addNode("a", (_state, ctx: NodeContext) => ({ log: `a in ${ctx.threadId}` }))
      .addNode("b", async () => ({ log: "b" }))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({ topic: "x" }, { threadId: "t" });
    expect(result.log).toEqual(["a in seen-by-wrapper", "b"]);
    expect(seen.map(({ node, streams }) => [node, streams])).toEqual([
      ["a", false],
      ["b", false],
    ]);
    expect(seen[0]!.input).toEqual({ log: [], topic: "x" });
    const meta = seen[1]!.meta;
    expect(meta).toMatchObject({
      node: "b",
      step: 1,
      namespace: "",
      thread_id: "t",
      langgraph_node: "b",
      langgraph_step: 1,
      langgraph_triggers: ["branch:to:b"],
      langgraph_path: ["__pregel_pull", "b"],
    });
    expect(meta.langgraph_checkpoint_ns).toBe(`b:${meta.taskId}`);
    expect(meta.checkpoint_ns).toBe(meta.langgraph_checkpoint_ns);

    await collect(graph.stream({ topic: "y" }, { threadId: "t2", streamMode: "messages" }));
    expect(seen.slice(2).map(({ streams }) => streams)).toEqual([true, true]);
  });

  it("run nested in registration order; unregistered, they are not called", async () => {
    const order: string[] = [];
    const wrapper =
      (name: string) =>
      (task: WrappedTask, call: (context: NodeContext) => unknown): unknown => {
        order.push(`${name}:${task.context.node}`);
        return call(task.context);
      };
    const first = registerTaskWrapper(wrapper("outer"));
    unregister = registerTaskWrapper(wrapper("inner"));
    const graph = new StateGraph(State)
      .addNode("a", () => {
        order.push("node");
        return { log: "a" };
      })
      .addEdge(START, "a")
      .addEdge("a", END)
      .compile({ checkpointer: store.create() });
    await graph.invoke({ topic: "x" }, { threadId: "t" });
    expect(order).toEqual(["outer:a", "inner:a", "node"]);
    first();
    unregister();
    order.length = 0;
    await graph.invoke({ topic: "x" }, { threadId: "t" });
    expect(order).toEqual(["node"]);
  });
});

describe.each(STORES)("streamMode 'messages' metadata ($name)", (store) => {
  it("names each chunk's task with LangGraph's keys beside the task's own", async () => {
    const graph = new StateGraph(State)
      .addNode(
        "fan",
        () => new Command({ goto: [new Send("write", "p"), new Send("write", "q")] }),
        {
          ends: ["write"],
        },
      )
      .addNode("write", (payload: unknown, ctx: NodeContext) => {
        ctx.streamMessage(`chunk ${String(payload)}`);
        return { log: String(payload) };
      })
      .addEdge(START, "fan")
      .addEdge("write", END)
      .compile({ checkpointer: store.create() });
    const events = (await collect(
      graph.stream({ topic: "x" }, { threadId: "t", streamMode: "messages" }),
    )) as [string, MessageMetadata][];
    expect(events.map(([chunk, meta]) => [chunk, meta.langgraph_path])).toEqual([
      ["chunk p", ["__pregel_push", 0]],
      ["chunk q", ["__pregel_push", 1]],
    ]);
    for (const [, meta] of events) {
      expect(meta).toMatchObject({
        node: "write",
        step: 1,
        namespace: "",
        thread_id: "t",
        langgraph_node: "write",
        langgraph_step: 1,
        langgraph_triggers: [],
        langgraph_checkpoint_ns: `write:${meta.taskId}`,
        checkpoint_ns: `write:${meta.taskId}`,
      });
    }
  });
});

describe("Command", () => {
  it("is marked as a tool's direct output without an own field", () => {
    const command = new Command({ update: { topic: "x" } });
    expect((command as unknown as { lc_direct_tool_output: unknown }).lc_direct_tool_output).toBe(
      true,
    );
    expect(Object.keys(command)).toEqual(["update"]);
    expect(JSON.parse(JSON.stringify(command))).toEqual({ update: { topic: "x" } });
    expect(command).toEqual(new Command({ update: { topic: "x" } }));
  });
});
