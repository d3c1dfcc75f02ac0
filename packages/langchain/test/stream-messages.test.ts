import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { describe, expect, it } from "vitest";
import { END, START, StateGraph, type MessageMetadata, type NodeContext } from "@waypoint/core";
import { MessagesAnnotation, langchainNode, runnableConfig } from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";
import { STORES } from "./support/stores.js";

type Model = FakeListChatModel | ScriptedChatModel;

/** A node whose model call is nested inside another runnable, which passes its config on. */
function graphCalling(model: Model, checkpointer: ReturnType<(typeof STORES)[number]["create"]>) {
  const chain = RunnableLambda.from(async (input: BaseMessage[], config?: RunnableConfig) =>
    model.invoke(input, config),
  );
  return new StateGraph(MessagesAnnotation)
    .addNode("chat", async (state, ctx: NodeContext) => ({
      messages: [await chain.invoke(state.messages, runnableConfig(ctx))],
    }))
    .addEdge(START, "chat")
    .addEdge("chat", END)
    .compile({ checkpointer });
}

async function streamed(graph: ReturnType<typeof graphCalling>) {
  const out: [BaseMessage, MessageMetadata][] = [];
  for await (const event of graph.stream(
    { messages: [new HumanMessage("hi")] },
    { threadId: "t", streamMode: "messages" },
  ))
    out.push(event as [BaseMessage, MessageMetadata]);
  return out;
}

describe.each(STORES)("streamMode 'messages' through LangChain callbacks ($name)", (store) => {
  it("streams the tokens of a model called anywhere inside a node", async () => {
    const graph = graphCalling(
      new FakeListChatModel({ responses: ["Hello there"] }),
      store.create(),
    );
    const events = await streamed(graph);
    // invoke(), not stream(): the handler makes the model stream.
    expect(events.length).toBeGreaterThan(1);
    expect(events.map(([chunk]) => chunk.text).join("")).toBe("Hello there");
    for (const [chunk, meta] of events) {
      expect(chunk.getType()).toBe("ai");
      expect(meta).toMatchObject({ node: "chat", step: 0, namespace: "" });
    }
    const state = await graph.getState("t");
    expect(state?.values.messages.at(-1)?.content).toBe("Hello there");
  });

  it("reports the whole message of a model that does not stream, once", async () => {
    const graph = graphCalling(
      new ScriptedChatModel([new AIMessage("one answer")]),
      store.create(),
    );
    const events = await streamed(graph);
    expect(events.map(([message, meta]) => [message.content, meta.node])).toEqual([
      ["one answer", "chat"],
    ]);
  });
});

describe.each(STORES)("langchainNode ($name)", (store) => {
  it("streams a model called without a config at any depth, and the node's other messages, each once", async () => {
    const model = new FakeListChatModel({ responses: ["Hello there"] });
    // No config passed anywhere: the call finds the node's in LangChain's async context.
    const chain = RunnableLambda.from(async (input: BaseMessage[]) => model.invoke(input));
    const graph = new StateGraph(MessagesAnnotation)
      .addNode(
        "chat",
        langchainNode(async (state: { messages: BaseMessage[] }) => {
          const answer = await chain.invoke(state.messages);
          return { messages: [answer, new ToolMessage({ content: "logged", tool_call_id: "x" })] };
        }),
      )
      .addEdge(START, "chat")
      .addEdge("chat", END)
      .compile({ checkpointer: store.create() });
    const events = await streamed(graph);
    const tokens = events.filter(([message]) => message.getType() === "ai");
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.map(([chunk]) => chunk.text).join("")).toBe("Hello there");
    // The answer's whole message was streamed as tokens: only the tool message follows.
    expect(
      events.slice(tokens.length).map(([m, meta]) => [m.getType(), m.content, meta.node]),
    ).toEqual([["tool", "logged", "chat"]]);
    const state = await graph.getState("t");
    expect(state?.values.messages.map((m) => m.content)).toEqual(["hi", "Hello there", "logged"]);
  });
});

describe("runnableConfig", () => {
  it("for a context no run made, names the node, step and task namespace under LangGraph's metadata keys, and carries the signal", () => {
    const signal = new AbortController().signal;
    const config = runnableConfig({
      streamMessage: () => undefined,
      signal,
      node: "agent",
      step: 3,
      namespace: "team:task-1",
      threadId: "t",
      taskId: "task-2",
    });
    expect(config.metadata).toEqual({
      thread_id: "t",
      langgraph_node: "agent",
      langgraph_step: 3,
      langgraph_checkpoint_ns: "team:task-1|agent:task-2",
      checkpoint_ns: "team:task-1|agent:task-2",
    });
    expect(config.signal).toBe(signal);
  });
});
