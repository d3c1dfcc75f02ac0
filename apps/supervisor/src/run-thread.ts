import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { REQUEST, type Agent, type SupervisorGraph } from "./graph.js";

/** One message of the conversation and who wrote it. */
export interface Turn {
  readonly agent: Agent | "user";
  readonly text: string;
}

/**
 * Runs a thread to its end (starting it with the request, or resuming it)
 * and reports each new message with the agent that wrote it. The parent
 * graph's `updates` stream says which agent's step a message came from:
 * each agent is a node, and its update carries its turn's messages.
 */
export async function runThread(
  graph: SupervisorGraph,
  options: { threadId: string; onTurn?: (turn: Turn) => void },
) {
  const { threadId } = options;
  const before = await graph.getState(threadId);
  const seen = new Set((before?.values.messages ?? []).map((m) => m.id));
  const input = before === undefined ? { messages: [REQUEST] } : null;
  for await (const update of graph.stream(input, { threadId, streamMode: "updates" })) {
    for (const [node, write] of Object.entries(update as Record<string, unknown>)) {
      const written = (write as { messages?: unknown } | undefined)?.messages;
      for (const message of [written].flat(2) as BaseMessage[]) {
        if (message === undefined || seen.has(message.id)) continue;
        seen.add(message.id);
        const agent = message.getType() === "human" ? "user" : (node as Agent);
        options.onTurn?.({ agent, text: describe(message) });
      }
    }
  }
  return (await graph.getState(threadId))!;
}

/** A message in one line: what was said, or which tool was called with what. */
export function describe(message: BaseMessage): string {
  if (AIMessage.isInstance(message) && (message.tool_calls?.length ?? 0) > 0) {
    return message
      .tool_calls!.map(
        (c) => `calls ${c.name}(${Object.keys(c.args).length > 0 ? JSON.stringify(c.args) : ""})`,
      )
      .join(", ");
  }
  if (ToolMessage.isInstance(message)) return `${message.name} → ${message.text}`;
  return message.text;
}
