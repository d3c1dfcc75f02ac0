import { HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { describe, expect, it } from "vitest";
import { END, START, StateGraph, type MessageMetadata, type StateOf } from "@waypoint/core";
import { MessagesAnnotation } from "@waypoint/langchain";
import { STORES } from "./support/stores.js";

// A LangChain Runnable added as a node, as in LangGraph: `addNode("chat", runnable)`.

describe.each(STORES)("a LangChain Runnable as a node ($name)", (store) => {
  it("runs a RunnableSequence with the state; its result is the update, and its model's tokens stream", async () => {
    const model = new FakeListChatModel({ responses: ["Hello there"] });
    const chat = RunnableLambda.from((state: StateOf<typeof MessagesAnnotation>) => state.messages)
      .pipe(model)
      .pipe((message: BaseMessage) => ({ messages: [message] }));
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("chat", chat)
      .addEdge(START, "chat")
      .addEdge("chat", END)
      .compile({ checkpointer: store.create() });
    const events: [BaseMessage, MessageMetadata][] = [];
    for await (const event of graph.stream(
      { messages: [new HumanMessage("hi")] },
      { threadId: "t", streamMode: "messages" },
    ))
      events.push(event as [BaseMessage, MessageMetadata]);
    expect(events.map(([chunk]) => chunk.text).join("")).toBe("Hello there");
    expect(events.every(([, meta]) => meta.node === "chat")).toBe(true);
    const state = await graph.getState("t");
    expect(state?.values.messages.map((m) => m.content)).toEqual(["hi", "Hello there"]);
  });

  it("gives a RunnableLambda the node's signal, the thread and LangGraph's metadata in its config", async () => {
    let seen: RunnableConfig | undefined;
    const node = RunnableLambda.from((_: unknown, config?: RunnableConfig) => {
      seen = config;
      return {};
    });
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("look", node)
      .addEdge(START, "look")
      .addEdge("look", END)
      .compile({ checkpointer: store.create() });
    await graph.invoke({ messages: [] }, { threadId: "t" });
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
    expect(seen?.configurable).toMatchObject({ thread_id: "t" });
    expect(seen?.metadata).toMatchObject({ langgraph_node: "look", langgraph_step: 0 });
  });
});
