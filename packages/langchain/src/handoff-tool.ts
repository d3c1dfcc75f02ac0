import { ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { Command } from "@waypoint/core";

/** Options of `createHandoffTool`: the agent to hand over to, and how the model sees the tool. */
export interface HandoffToolOptions {
  /** The node of the parent graph that takes over (an agent). */
  readonly agentName: string;
  /** What the model reads about the tool (default: "Ask agent '<agentName>' for help"). */
  readonly description?: string;
}

/**
 * A tool that hands the conversation to another agent, as LangGraph's
 * supervisor and swarm packages do: named `transfer_to_<agent>`, it returns
 * `Command({ graph: Command.PARENT, goto: agentName, update: { messages: [ToolMessage] } })`.
 * Run by `toolNode` inside an agent that is a subgraph, the handoff is a
 * recorded tool call: after a crash it is applied again, not run again.
 */
export function createHandoffTool(options: HandoffToolOptions) {
  const { agentName } = options;
  const name = `transfer_to_${agentName.trim().replace(/\s+/g, "_").toLowerCase()}`;
  return tool(
    (_input, config) =>
      new Command({
        graph: Command.PARENT,
        goto: agentName,
        update: {
          messages: [
            new ToolMessage({
              content: `Successfully transferred to ${agentName}`,
              name,
              tool_call_id: (config as { toolCall?: { id?: string } }).toolCall?.id ?? "",
            }),
          ],
        },
      }),
    {
      name,
      description: options.description ?? `Ask agent '${agentName}' for help`,
      schema: { type: "object", properties: {} },
    },
  );
}
