import { afterEach, beforeEach, expect, it, vi } from "vitest";
import {
  ProxyTracer,
  ProxyTracerProvider,
  SpanStatusCode,
  context,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { Command, END, START, StateGraph, interrupt } from "@waypoint/core";
import {
  MessagesAnnotation,
  chatModelNode,
  createToolCallingAgent,
  langchainSerializer,
  toolNode,
} from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";

let exporter: InMemorySpanExporter;
let provider: BasicTracerProvider;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
});
afterEach(async () => {
  trace.disable();
  context.disable();
  await provider.shutdown();
});

/** A scripted model with a name, as LangChain's provider classes carry one. */
class NamedModel extends ScriptedChatModel {
  readonly model = "scripted-1";
}

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

const parentName = (spans: readonly ReadableSpan[], span: ReadableSpan) =>
  spans.find((other) => other.spanContext().spanId === span.parentSpanContext?.spanId)?.name;

it("the agent's model calls are chat spans with usage, its tool calls execute_tool spans under their effects", async () => {
  const model = new NamedModel([
    new AIMessage({
      content: "",
      id: "resp-1",
      tool_calls: [
        { id: "c1", name: "weather", args: { city: "Oslo" }, type: "tool_call" },
        { id: "c2", name: "broken", args: {}, type: "tool_call" },
      ],
      usage_metadata: { input_tokens: 12, output_tokens: 7, total_tokens: 19 },
    }),
    new AIMessage("Rain in Oslo."),
  ]);
  const agent = createToolCallingAgent({
    model,
    tools: [weather, broken],
    checkpointer: new MemoryCheckpointer({ serializer: langchainSerializer() }),
  });
  await agent.invoke({ messages: [new HumanMessage("Weather in Oslo?")] }, { threadId: "t" });
  const spans = exporter.getFinishedSpans();

  const chats = spans.filter((span) => span.name === "chat scripted-1");
  expect(chats).toHaveLength(2);
  expect(chats.map((span) => parentName(spans, span))).toEqual(["agent", "agent"]);
  expect(chats[0]!.attributes).toMatchObject({
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "scripted-1",
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 7,
  });

  const tools = spans.filter((span) => span.name.startsWith("execute_tool "));
  expect(tools.map((span) => span.name).sort()).toEqual([
    "execute_tool broken",
    "execute_tool weather",
  ]);
  const rain = tools.find((span) => span.name === "execute_tool weather")!;
  expect(rain.attributes).toMatchObject({
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "weather",
    "gen_ai.tool.call.id": "c1",
  });
  expect(parentName(spans, rain)).toBe("waypoint.effect tool:c1");
  expect(rain.status.code).toBe(SpanStatusCode.UNSET);
  // A tool that throws marks its span, though the node reports the error to the model.
  const failed = tools.find((span) => span.name === "execute_tool broken")!;
  expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: "service unavailable" });
});

it("an agent whose parallel tool calls run beside an audit node, one tool asking for approval: the spans of the pause and of the resume", async () => {
  const approve = tool(async () => `approved: ${interrupt<string>("send it?")}`, {
    name: "send",
    description: "sends, once a human approves",
    schema: z.object({}),
  });
  const model = new NamedModel([
    new AIMessage({
      content: "",
      tool_calls: [
        { id: "c1", name: "weather", args: { city: "Oslo" }, type: "tool_call" },
        { id: "c2", name: "send", args: {}, type: "tool_call" },
      ],
    }),
    new AIMessage("Done."),
  ]);
  const graph = new StateGraph(MessagesAnnotation)
    .addNode("agent", chatModelNode(model))
    .addNode("audit", () => ({}))
    .addNode("tools", toolNode([weather, approve]))
    .addEdge(START, "agent")
    .addEdge(START, "audit")
    .addEdge("agent", "tools")
    .addEdge("tools", END)
    .addEdge("audit", END)
    .compile({
      checkpointer: new MemoryCheckpointer({ serializer: langchainSerializer() }),
      name: "assistant",
    });
  await graph.invoke({ messages: [new HumanMessage("Weather, then send it")] }, { threadId: "t" });
  const paused = exporter.getFinishedSpans();
  const parentOf = (spans: readonly ReadableSpan[], name: string) =>
    parentName(
      spans,
      spans.find((span) => span.name === name)!,
    );
  // agent and audit ran side by side in the first superstep.
  expect(parentOf(paused, "agent")).toBe("waypoint.superstep");
  expect(parentOf(paused, "audit")).toBe("waypoint.superstep");
  expect(parentOf(paused, "chat scripted-1")).toBe("agent");
  expect(parentOf(paused, "execute_tool weather")).toBe("waypoint.effect tool:c1");
  expect(parentOf(paused, "execute_tool send")).toBe("waypoint.effect tool:c2");
  expect(parentOf(paused, "waypoint.effect tool:c1")).toBe("tools");
  const tools = paused.find((span) => span.name === "tools")!;
  expect(tools.attributes["waypoint.task.interrupted"]).toBe(true);
  // A pause is no failure: neither the task's nor the paused call's effect span is marked.
  for (const name of ["tools", "waypoint.effect tool:c2"])
    expect(paused.find((span) => span.name === name)!.status.code).toBe(SpanStatusCode.UNSET);
  const run = paused.find((span) => span.name === "invoke_workflow assistant")!;

  exporter.reset();
  await graph.invoke(new Command({ resume: "yes" }), { threadId: "t" });
  const resumed = exporter.getFinishedSpans();
  // The weather call's result was recorded: replayed, not run; the approved call runs again.
  const effects = resumed
    .filter((span) => span.name.startsWith("waypoint.effect "))
    .map((span) => [span.name, span.attributes["waypoint.effect.outcome"]])
    .sort();
  expect(effects).toEqual([
    ["waypoint.effect tool:c1", "replayed"],
    ["waypoint.effect tool:c2", "executed"],
  ]);
  expect(
    resumed.filter((span) => span.name.startsWith("execute_tool ")).map((span) => span.name),
  ).toEqual(["execute_tool send"]);
  const again = resumed.find((span) => span.name === "invoke_workflow assistant")!;
  expect(again.attributes["waypoint.resumed"]).toBe(true);
  expect(again.links[0]!.context.spanId).toBe(run.spanContext().spanId);
});

it("with no SDK registered, a model call and a tool call ask no tracer for a span", async () => {
  trace.disable();
  context.disable();
  const calls = [
    vi.spyOn(ProxyTracerProvider.prototype, "getTracer"),
    vi.spyOn(ProxyTracer.prototype, "startSpan"),
  ];
  try {
    const model = new NamedModel([
      new AIMessage({
        content: "",
        tool_calls: [{ id: "c1", name: "weather", args: { city: "Oslo" }, type: "tool_call" }],
      }),
      new AIMessage("Rain."),
    ]);
    const agent = createToolCallingAgent({ model, tools: [weather] });
    await agent.invoke({ messages: [new HumanMessage("Weather?")] }, { threadId: "t" });
    expect(calls.map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
    // The probes count a span asked for through the API: this test can fail.
    trace.getTracer("probe").startSpan("probe").end();
    expect(calls.map((spy) => spy.mock.calls.length)).toEqual([1, 1]);
  } finally {
    vi.restoreAllMocks();
  }
});
