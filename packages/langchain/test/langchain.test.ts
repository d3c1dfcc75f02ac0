import { describe, expect, it } from "vitest";
import { tool } from "@langchain/core/tools";
import {
  AIMessage,
  AIMessageChunk,
  HumanMessage,
  RemoveMessage,
  SystemMessage,
  ToolMessage,
} from "@langchain/core/messages";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { z } from "zod";
import { CorruptRecordError, MemoryCheckpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState } from "@waypoint/core";
import {
  REMOVE_ALL_MESSAGES,
  chatModelNode,
  createToolCallingAgent,
  langchainSerializer,
  messages,
  toolNode,
} from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";

const serializer = langchainSerializer();
const roundTrip = <T>(value: T): T =>
  serializer.deserialize(serializer.serialize(value, "test", "v"), "test") as T;

describe("the LangChain messages plug-in", () => {
  it("round-trips each message class exactly, with tool calls, usage and artifacts", () => {
    const original = [
      new SystemMessage({ content: "be brief", id: "s" }),
      new HumanMessage({ content: "weather?", id: "h" }),
      new AIMessage({
        content: "",
        id: "a",
        tool_calls: [{ id: "call-1", name: "weather", args: { city: "Oslo" }, type: "tool_call" }],
        usage_metadata: { input_tokens: 3, output_tokens: 5, total_tokens: 8 },
      }),
      new ToolMessage({
        content: "rain",
        tool_call_id: "call-1",
        id: "t",
        artifact: { at: new Date(5) },
      }),
      new AIMessageChunk({ content: "partial", id: "c" }),
    ];
    const back = roundTrip(original);
    expect(back.map((m) => m.constructor.name)).toEqual(original.map((m) => m.constructor.name));
    expect(back).toEqual(original);
    expect((back[3] as ToolMessage).artifact).toEqual({ at: new Date(5) });
    expect(((back[3] as ToolMessage).artifact as { at: unknown }).at).toBeInstanceOf(Date);
  });

  it("revives no class outside the closed set of message types", () => {
    const evil = JSON.stringify({
      json: { type: "constructor_of_evil", chunk: false, fields: { json: { content: "x" } } },
      meta: { values: [["custom", "langchain:message"]] },
    });
    expect(() => serializer.deserialize(evil, "hostile")).toThrow(CorruptRecordError);
  });
});

describe("the messages channel", () => {
  const State = defineState({ messages: messages() });
  const run = (nodeOutput: () => unknown) =>
    new StateGraph(State)
      .addNode("n", nodeOutput as () => Record<string, never>)
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile({ checkpointer: new MemoryCheckpointer({ serializer }) });

  it("appends new ids, replaces known ones in place, and removes by id", async () => {
    const graph = run(() => ({
      messages: [
        new HumanMessage({ content: "hi (edited)", id: "1" }),
        new RemoveMessage({ id: "2" }),
        new AIMessage({ content: "new", id: "3" }),
      ],
    }));
    const result = await graph.invoke(
      {
        messages: [
          new HumanMessage({ content: "hi", id: "1" }),
          new AIMessage({ content: "old", id: "2" }),
        ],
      },
      { threadId: "t" },
    );
    expect(result.messages.map((m) => [m.id, m.content])).toEqual([
      ["1", "hi (edited)"],
      ["3", "new"],
    ]);
    const cleared = run(() => ({ messages: [new RemoveMessage({ id: REMOVE_ALL_MESSAGES })] }));
    expect(
      (await cleared.invoke({ messages: [new HumanMessage("x")] }, { threadId: "t" })).messages,
    ).toEqual([]);
  });

  it("gives a message without an id one when it is written, the same after a reload", async () => {
    const checkpointer = new MemoryCheckpointer({ serializer });
    const build = () =>
      new StateGraph(State)
        .addNode("n", () => ({ messages: "a plain string becomes a human message" }))
        .addEdge(START, "n")
        .addEdge("n", END)
        .compile({ checkpointer });
    const live = await build().invoke({ messages: [] }, { threadId: "t" });
    const reloaded = await build().getState("t");
    expect(live.messages[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(reloaded?.values.messages.map((m) => m.id)).toEqual(live.messages.map((m) => m.id));
    expect(live.messages[0]).toBeInstanceOf(HumanMessage);
  });
});

describe("the tool-calling agent", () => {
  const weather = tool(async ({ city }: { city: string }) => `rain in ${city}`, {
    name: "weather",
    description: "the weather in a city",
    schema: z.object({ city: z.string() }),
  });
  const broken = tool(
    async () => {
      throw new Error("service unavailable");
    },
    { name: "broken", description: "always fails", schema: z.object({}) },
  );

  it("runs the tools the model asks for, reports a tool error to the model, and answers", async () => {
    const model = new ScriptedChatModel([
      new AIMessage({
        content: "",
        tool_calls: [
          { id: "c1", name: "weather", args: { city: "Oslo" }, type: "tool_call" },
          { id: "c2", name: "broken", args: {}, type: "tool_call" },
        ],
      }),
      new AIMessage("Rain in Oslo; the other service is down."),
    ]);
    const agent = createToolCallingAgent({
      model,
      tools: [weather, broken],
      checkpointer: new MemoryCheckpointer({ serializer }),
      systemPrompt: "You are helpful.",
    });
    const result = await agent.invoke(
      { messages: [new HumanMessage("Weather in Oslo?")] },
      { threadId: "t" },
    );
    const types = result.messages.map((m) => m.getType());
    expect(types).toEqual(["human", "ai", "tool", "tool", "ai"]);
    const [rain, failure] = result.messages.slice(2, 4) as ToolMessage[];
    expect(rain).toMatchObject({ content: "rain in Oslo", tool_call_id: "c1" });
    expect(failure).toMatchObject({ tool_call_id: "c2", status: "error" });
    expect(failure!.content).toContain("service unavailable");
    expect(model.seen[0]?.[0]).toBeInstanceOf(SystemMessage);
    expect(model.seen[1]?.slice(-2).map((m) => m.getType())).toEqual(["tool", "tool"]);
  });

  it("shows pending tool calls in getState, with the results already recorded", async () => {
    const State = defineState({ messages: messages() });
    let released = false;
    const slow = tool(
      async ({ n }: { n: number }) => {
        if (n === 2 && !released) throw new Error("not yet");
        return `done ${n}`;
      },
      { name: "slow", description: "slow", schema: z.object({ n: z.number() }) },
    );
    const graph = new StateGraph(State)
      .addNode("tools", toolNode([slow], { handleToolErrors: false }))
      .addEdge(START, "tools")
      .addEdge("tools", END)
      .compile({ checkpointer: new MemoryCheckpointer({ serializer }) });
    const ask = new AIMessage({
      content: "",
      tool_calls: [1, 2].map((n) => ({
        id: `c${n}`,
        name: "slow",
        args: { n },
        type: "tool_call" as const,
      })),
    });
    await expect(graph.invoke({ messages: [ask] }, { threadId: "t" })).rejects.toThrow("not yet");
    const state = await graph.getState("t");
    expect(state?.pendingToolCalls.map((c) => [c.id, c.recorded?.ok ?? null])).toEqual([
      ["c1", true],
      ["c2", null],
    ]);
    released = true;
    const done = await graph.resume("t");
    expect(done.messages.slice(1).map((m) => m.content)).toEqual(["done 1", "done 2"]);
    expect((await graph.getState("t"))?.pendingToolCalls).toEqual([]);
  });
});

describe("the chat-model node", () => {
  it("streams tokens to streamMode 'messages' and appends the whole answer", async () => {
    const State = defineState({ messages: messages() });
    const graph = new StateGraph(State)
      .addNode("chat", chatModelNode(new FakeListChatModel({ responses: ["Hello there"] })))
      .addEdge(START, "chat")
      .addEdge("chat", END)
      .compile({ checkpointer: new MemoryCheckpointer({ serializer }) });
    const tokens: string[] = [];
    for await (const [chunk, meta] of graph.stream(
      { messages: [new HumanMessage("hi")] },
      { threadId: "t", streamMode: "messages" },
    ) as AsyncIterable<[AIMessageChunk, { node: string }]>) {
      tokens.push(chunk.text);
      expect(meta.node).toBe("chat");
    }
    expect(tokens.join("")).toBe("Hello there");
    expect(tokens.length).toBeGreaterThan(1);
    const state = await graph.getState("t");
    expect(state?.values.messages.at(-1)).toBeInstanceOf(AIMessage);
    expect(state?.values.messages.at(-1)?.content).toBe("Hello there");
  });
});
