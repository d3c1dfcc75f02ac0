import type { AIMessageChunk } from "@langchain/core/messages";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import { tool } from "@langchain/core/tools";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { describe, expect, it } from "vitest";
import {
  Command,
  END,
  START,
  StateGraph,
  type MessageMetadata,
  type NodeContext,
  type UpdatePairs,
} from "@waypoint/core";
import {
  MessagesAnnotation,
  createToolCallingAgent,
  langchainNode,
  toolNode,
} from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";
import { STORES } from "./support/stores.js";

type Event = [BaseMessage, MessageMetadata];

async function messagesOf(
  graph: {
    stream(
      input: unknown,
      options: { threadId: string; streamMode: "messages" },
    ): AsyncIterable<unknown>;
  },
  input: unknown = { messages: [new HumanMessage("hi")] },
): Promise<Event[]> {
  const out: Event[] = [];
  for await (const event of graph.stream(input, { threadId: "t", streamMode: "messages" }))
    out.push(event as Event);
  return out;
}

/** What a consumer sees: each node's text, tokens joined, in order of first appearance. */
function textByNode(events: readonly Event[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [message, meta] of events) out[meta.node] = (out[meta.node] ?? "") + message.text;
  return out;
}

function oneNode(
  node: (state: { messages: BaseMessage[] }, ctx: NodeContext) => unknown,
  checkpointer: ReturnType<(typeof STORES)[number]["create"]>,
) {
  return new StateGraph(MessagesAnnotation)
    .addNode("chat", node as never)
    .addEdge(START, "chat")
    .addEdge("chat", END)
    .compile({ checkpointer });
}

describe.each(STORES)("streamMode 'messages' from a plain node ($name)", (store) => {
  it("streams the tokens of model.invoke, without a config or a wrapper, and not the answer again", async () => {
    const model = new FakeListChatModel({ responses: ["Hello there"] });
    const graph = oneNode(
      async (state) => ({ messages: [await model.invoke(state.messages)] }),
      store.create(),
    );
    const events = await messagesOf(graph);
    expect(events.length).toBeGreaterThan(1);
    expect(events.every(([m]) => m.getType() === "ai")).toBe(true);
    expect(textByNode(events)).toEqual({ chat: "Hello there" });
    const state = await graph.getState("t");
    expect(state?.values.messages.map((m) => m.content)).toEqual(["hi", "Hello there"]);
  });

  it("streams the chunks of model.stream once each", async () => {
    const model = new FakeListChatModel({ responses: ["abc"] });
    const graph = oneNode(async (state) => {
      let answer: AIMessageChunk | undefined;
      for await (const chunk of await model.stream(state.messages))
        answer = answer === undefined ? chunk : answer.concat(chunk);
      return { messages: [new AIMessage({ content: answer!.content, id: answer!.id! })] };
    }, store.create());
    const events = await messagesOf(graph);
    expect(events.map(([m]) => m.text)).toEqual(["a", "b", "c"]);
  });

  it("streams a model called in a nested function and runnable, and a whole message once", async () => {
    const streaming = new FakeListChatModel({ responses: ["deep"] });
    const whole = new ScriptedChatModel([new AIMessage("whole")]);
    const chain = RunnableLambda.from(async (input: BaseMessage[]) => streaming.invoke(input));
    const helper = async (messages: BaseMessage[]) => [await chain.invoke(messages)];
    const graph = oneNode(
      async (state) => ({
        messages: [...(await helper(state.messages)), await whole.invoke(state.messages)],
      }),
      store.create(),
    );
    const events = await messagesOf(graph);
    expect(events.map(([m]) => m.text).join("|")).toBe("d|e|e|p|whole");
  });

  it("reports the messages a node writes without a model, in every result shape, once", async () => {
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("plain", () => ({
        messages: [new ToolMessage({ content: "t1", tool_call_id: "x" })],
      }))
      .addNode("command", () => new Command({ update: { messages: [new AIMessage("c1")] } }))
      .addNode("pair", () => [
        { messages: [new AIMessage("p1")] },
        new Command({ update: { messages: [new AIMessage("p2")] } }),
      ])
      .addNode(
        "pairs",
        (state: { messages: BaseMessage[] }) =>
          new Command<Record<string, unknown>>({
            update: [
              ["messages", new AIMessage("u1")],
              // The state's messages come back with the node's: they are not new.
              ["messages", [...state.messages, new AIMessage("u2")]],
            ] as UpdatePairs,
          }),
      )
      .addEdge(START, "plain")
      .addEdge("plain", "command")
      .addEdge("command", "pair")
      .addEdge("pair", "pairs")
      .addEdge("pairs", END)
      .compile({ checkpointer: store.create() });
    const events = await messagesOf(graph);
    expect(events.map(([m, meta]) => [meta.node, m.text])).toEqual([
      ["plain", "t1"],
      ["command", "c1"],
      ["pair", "p1"],
      ["pair", "p2"],
      ["pairs", "u1"],
      ["pairs", "u2"],
    ]);
  });

  it("names each parallel node's chunks after it", async () => {
    const left = new FakeListChatModel({ responses: ["left side"], sleep: 1 });
    const right = new FakeListChatModel({ responses: ["right side"], sleep: 1 });
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("left", async (state) => ({ messages: [await left.invoke(state.messages)] }))
      .addNode("right", async (state) => ({ messages: [await right.invoke(state.messages)] }))
      .addEdge(START, "left")
      .addEdge(START, "right")
      .addEdge("left", END)
      .addEdge("right", END)
      .compile({ checkpointer: store.create() });
    const events = await messagesOf(graph);
    expect(textByNode(events)).toEqual({ left: "left side", right: "right side" });
    // Interleaved: both ran at once.
    const nodes = events.map(([, meta]) => meta.node);
    expect(nodes.indexOf("right")).toBeLessThan(nodes.lastIndexOf("left"));
  });

  it("gives each chunk LangGraph's metadata names", async () => {
    const model = new ScriptedChatModel([new AIMessage("ok")]);
    const graph = oneNode(
      async (state) => ({ messages: [await model.invoke(state.messages)] }),
      store.create(),
    );
    const [[, meta]] = (await messagesOf(graph)) as [Event];
    expect(meta).toEqual({
      node: "chat",
      taskId: meta.taskId,
      step: 0,
      namespace: "",
      thread_id: "t",
      langgraph_node: "chat",
      langgraph_step: 0,
      langgraph_triggers: ["branch:to:chat"],
      langgraph_path: ["__pregel_pull", "chat"],
      langgraph_checkpoint_ns: `chat:${meta.taskId}`,
      checkpoint_ns: `chat:${meta.taskId}`,
    });
  });

  it("streams a subgraph node's model under the subgraph's namespace, once", async () => {
    const model = new FakeListChatModel({ responses: ["inside"] });
    const inner = new StateGraph(MessagesAnnotation)
      .addNode("inner", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addEdge(START, "inner")
      .addEdge("inner", END)
      .compile();
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("team", inner)
      .addEdge(START, "team")
      .addEdge("team", END)
      .compile({ checkpointer: store.create() });
    const events: [string[], Event][] = [];
    for await (const event of graph.stream(
      { messages: [new HumanMessage("hi")] },
      { threadId: "t", streamMode: "messages", subgraphs: true },
    ))
      events.push(event as [string[], Event]);
    // The team node returns the subgraph's messages: the answer is not reported again for it.
    expect(events.map(([, [m]]) => m.text).join("")).toBe("inside");
    for (const [namespace, [, meta]] of events) {
      expect(namespace).toHaveLength(1);
      expect(namespace[0]).toMatch(/^team:/);
      expect(meta).toMatchObject({ node: "inner", namespace: namespace[0] });
      expect(meta.langgraph_checkpoint_ns).toBe(`${namespace[0]}|inner:${meta.taskId}`);
    }
  });
});

describe.each(STORES)("no double report ($name)", (store) => {
  it("of a subgraph's answer that a node invoking it returns", async () => {
    const model = new FakeListChatModel({ responses: ["inside"] });
    const inner = new StateGraph(MessagesAnnotation)
      .addNode("inner", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addEdge(START, "inner")
      .addEdge("inner", END)
      .compile();
    const graph = oneNode(async (state) => {
      const result = await inner.invoke(state);
      return { messages: [...result.messages, new AIMessage("outer note")] };
    }, store.create());
    const events: [string[], Event][] = [];
    for await (const event of graph.stream(
      { messages: [new HumanMessage("hi")] },
      { threadId: "t", streamMode: "messages", subgraphs: true },
    ))
      events.push(event as [string[], Event]);
    expect(
      events
        .map(([namespace, [m, meta]]) => [namespace.length, meta.node, m.text])
        .filter(([, , text]) => text !== "")
        .map(([depth, node]) => `${String(depth)}:${String(node)}`),
    ).toEqual([...Array<string>(6).fill("1:inner"), "0:chat"]);
    expect(events.map(([, [m]]) => m.text).join("")).toBe("insideouter note");
  });

  it("with langchainNode still wrapped by hand", async () => {
    const model = new FakeListChatModel({ responses: ["twice?"] });
    const graph = oneNode(
      langchainNode(async (state: { messages: BaseMessage[] }) => ({
        messages: [await model.invoke(state.messages), new AIMessage("note")],
      })),
      store.create(),
    );
    const events = await messagesOf(graph);
    expect(events.map(([m]) => m.text).join("")).toBe("twice?note");
  });

  it("with toolNode and createToolCallingAgent", async () => {
    const echo = tool(async ({ text }: { text: string }) => `echo ${text}`, {
      name: "echo",
      description: "echoes",
      schema: {
        type: "object",
        properties: { text: { type: "string" } },
        required: ["text"],
      },
    });
    const model = new ScriptedChatModel([
      new AIMessage({
        content: "",
        tool_calls: [{ id: "call-1", name: "echo", args: { text: "x" } }],
      }),
      new AIMessage("done"),
    ]);
    const agent = createToolCallingAgent({ model, tools: [echo], checkpointer: store.create() });
    const events = await messagesOf(agent);
    expect(events.map(([m, meta]) => [meta.node, m.getType(), m.text])).toEqual([
      ["agent", "ai", ""],
      ["tools", "tool", "echo x"],
      ["agent", "ai", "done"],
    ]);
    // toolNode alone, as a node of one's own graph.
    const graph = oneNode(toolNode([echo]), store.create());
    const ask = new AIMessage({
      content: "",
      tool_calls: [{ id: "call-2", name: "echo", args: { text: "y" } }],
    });
    const alone = await messagesOf(graph, { messages: [ask] });
    expect(alone.map(([m]) => m.text)).toEqual(["echo y"]);
  });
});

describe.each(STORES)("a node's LangChain config ($name)", (store) => {
  it("reaches nested runnables in a run that does not stream messages: the node's signal and metadata", async () => {
    const seen: RunnableConfig[] = [];
    const probe = RunnableLambda.from((_input: unknown, config?: RunnableConfig) => {
      seen.push(config!);
      return "probed";
    });
    let signal: AbortSignal | undefined;
    const graph = oneNode(async (_state, ctx) => {
      signal = ctx.signal;
      await probe.invoke({});
      return {};
    }, store.create());
    await graph.invoke({ messages: [new HumanMessage("hi")] }, { threadId: "t" });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.signal).toBe(signal);
    expect(seen[0]!.metadata).toMatchObject({
      thread_id: "t",
      langgraph_node: "chat",
      langgraph_step: 0,
      langgraph_triggers: ["branch:to:chat"],
      langgraph_path: ["__pregel_pull", "chat"],
    });
  });
});

describe("langchainNode called with a context no run made", () => {
  it("reports the model's tokens and the node's other messages through ctx.streamMessage", async () => {
    const model = new FakeListChatModel({ responses: ["by hand"] });
    const chunks: BaseMessage[] = [];
    const node = langchainNode(async (state: { messages: BaseMessage[] }) => ({
      messages: [await model.invoke(state.messages), new AIMessage("extra")],
    }));
    const ctx = {
      threadId: "t",
      namespace: "",
      step: 0,
      taskId: "task",
      node: "chat",
      signal: new AbortController().signal,
      streamMessage: (chunk: unknown) => chunks.push(chunk as BaseMessage),
    } as unknown as NodeContext;
    await node({ messages: [new HumanMessage("hi")] }, ctx);
    expect(chunks.map((m) => m.text).join("")).toBe("by handextra");
  });
});
