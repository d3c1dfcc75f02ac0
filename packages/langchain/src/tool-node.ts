import { ToolMessage, isAIMessage, type BaseMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { toolEffectName, type NodeContext } from "@waypoint/core";

export interface ToolNodeOptions {
  /** The state key of the conversation (default "messages"). */
  readonly messagesKey?: string;
  /**
   * Report a tool's error to the model as a ToolMessage with status "error"
   * (the default), instead of failing the node.
   */
  readonly handleToolErrors?: boolean;
}

/**
 * A durable ToolNode: it runs the tool calls of the last AI message in
 * parallel, each as an effect named after its tool call id. After a crash,
 * only the calls without a recorded result run again; each call's
 * idempotency key is passed to the tool in its config's metadata.
 */
export function toolNode(tools: readonly StructuredToolInterface[], options: ToolNodeOptions = {}) {
  const key = options.messagesKey ?? "messages";
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return async (state: Record<string, unknown>, ctx: NodeContext) => {
    const history = (state[key] ?? []) as BaseMessage[];
    const last = history.at(-1);
    if (last === undefined || !isAIMessage(last)) return {};
    const calls = (last.tool_calls ?? []).filter((call) => call.id !== undefined);
    // Effects are numbered in call order: start them all now, in a fixed order, then await.
    const results = await Promise.all(
      calls.map((call) =>
        ctx.effect(toolEffectName(call.id!), async ({ idempotencyKey, signal }) => {
          const tool = byName.get(call.name);
          if (tool === undefined) {
            return errorMessage(
              call.id!,
              call.name,
              `there is no tool named "${call.name}" (tools: ${[...byName.keys()].join(", ")})`,
            );
          }
          try {
            const output: unknown = await tool.invoke(
              { ...call, type: "tool_call" },
              { signal, metadata: { idempotencyKey, toolCallId: call.id } },
            );
            return output instanceof ToolMessage
              ? output
              : new ToolMessage({
                  content: String(output),
                  tool_call_id: call.id!,
                  name: call.name,
                });
          } catch (error) {
            if (options.handleToolErrors === false) throw error;
            return errorMessage(
              call.id!,
              call.name,
              error instanceof Error ? error.message : String(error),
            );
          }
        }),
      ),
    );
    return { [key]: results };
  };
}

function errorMessage(toolCallId: string, name: string, text: string): ToolMessage {
  return new ToolMessage({
    content: `Error: ${text}`,
    tool_call_id: toolCallId,
    name,
    status: "error",
  });
}
