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
import { createToolCallingAgent, langchainSerializer } from "@waypoint/langchain";
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
