/**
 * A supervisor with two agents as subgraphs, as LangGraph's supervisor
 * builds it: the supervisor is a tool-calling agent whose only tools are
 * handoffs (transfer_to_researcher, transfer_to_writer); the researcher and
 * the writer are tool-calling agents whose tools write to a deduplicating
 * sink with the idempotency key of their call. Every handoff is a step of
 * the parent graph, checkpointed like any other.
 */
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { tool, type ToolRunnableConfig } from "@langchain/core/tools";
import { z } from "zod";
import type { Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph } from "@waypoint/core";
import { MessagesAnnotation, createHandoffTool, createToolCallingAgent } from "@waypoint/langchain";
import { ScriptedModel, answered, call } from "./scripted-model.js";
import type { DedupSink } from "./sink.js";

export const AGENTS = ["supervisor", "researcher", "writer"] as const;
export type Agent = (typeof AGENTS)[number];

export const REQUEST = new HumanMessage("Write a post on durable agents.");

/** Where the crash test stops a worker to kill it. */
export const KILL_POINTS = {
  "after-research-effect":
    "in the researcher's search tool, after the sink applied its write, before Waypoint recorded it",
  "between-handoffs":
    "in the supervisor's model, after the researcher's turn, before the handoff to the writer",
} as const;
export type KillPoint = keyof typeof KILL_POINTS;

export interface SupervisorOptions {
  readonly checkpointer: Checkpointer;
  /** The outside system the agents' tools write to. */
  readonly sink: DedupSink;
  /** Called at each kill point; the crash test's worker parks there to be killed. */
  readonly atKillPoint?: (point: KillPoint) => Promise<void>;
}

const keyOf = (config: ToolRunnableConfig) => config.metadata?.idempotencyKey as string;

export function buildSupervisor(options: SupervisorOptions) {
  const { sink } = options;
  const reach = async (point: KillPoint) => options.atKillPoint?.(point);

  const search = tool(
    async ({ topic }: { topic: string }, config: ToolRunnableConfig) => {
      sink.apply(keyOf(config), "researcher", `notes on ${topic}`);
      await reach("after-research-effect");
      return `3 sources on ${topic}`;
    },
    { name: "search", description: "finds sources", schema: z.object({ topic: z.string() }) },
  );
  const researcher = createToolCallingAgent({
    model: new ScriptedModel((history) =>
      answered(history, "search")
        ? new AIMessage("Research notes: checkpoints every superstep; effects run once.")
        : call("search-1", "search", { topic: "durable agents" }),
    ),
    tools: [search],
  });

  const publish = tool(
    ({ title }: { title: string }, config: ToolRunnableConfig) => {
      sink.apply(keyOf(config), "writer", title);
      return `published "${title}"`;
    },
    { name: "publish", description: "publishes a post", schema: z.object({ title: z.string() }) },
  );
  const writer = createToolCallingAgent({
    model: new ScriptedModel((history) =>
      answered(history, "publish")
        ? new AIMessage("The post is out.")
        : call("publish-1", "publish", { title: "Durable agents" }),
    ),
    tools: [publish],
  });

  const supervisor = createToolCallingAgent({
    model: new ScriptedModel(async (history) => {
      if (!answered(history, "transfer_to_researcher"))
        return call("handoff-1", "transfer_to_researcher");
      if (!answered(history, "transfer_to_writer")) {
        await reach("between-handoffs");
        return call("handoff-2", "transfer_to_writer");
      }
      return new AIMessage("Done: researched and published.");
    }),
    tools: [
      createHandoffTool({ agentName: "researcher" }),
      createHandoffTool({ agentName: "writer" }),
    ],
  });

  return new StateGraph(MessagesAnnotation)
    .addNode("supervisor", supervisor, { ends: ["researcher", "writer", END] })
    .addNode("researcher", researcher)
    .addNode("writer", writer)
    .addEdge(START, "supervisor")
    .addEdge("researcher", "supervisor")
    .addEdge("writer", "supervisor")
    .compile({ checkpointer: options.checkpointer, name: "supervisor" });
}

export type SupervisorGraph = ReturnType<typeof buildSupervisor>;

/** A conversation as plain data, to compare two runs. */
export function transcript(history: readonly BaseMessage[]) {
  return history.map((m) => ({
    type: m.getType(),
    content: m.content,
    ...(AIMessage.isInstance(m) ? { toolCalls: (m.tool_calls ?? []).map((c) => c.name) } : {}),
    ...(ToolMessage.isInstance(m) ? { name: m.name, toolCallId: m.tool_call_id } : {}),
  }));
}
export type Transcript = ReturnType<typeof transcript>;
