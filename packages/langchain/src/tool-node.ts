import { ToolMessage, isAIMessage, type BaseMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import {
  GraphInterrupt,
  isGraphInterrupt,
  toolEffectName,
  type Interrupt,
  type NodeContext,
} from "@waypoint/core";
import {
  combineResults,
  isCommand,
  recordCommand,
  type RecordedCommand,
} from "./internal/tool-command.js";
import { inSpan, startGenAISpan } from "./internal/genai-spans.js";

/** Options of `toolNode`: where the conversation is, and what a failing tool does. */
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
 *
 * A tool may return a `Command`: its update is applied (the ToolMessages in
 * it join the conversation in call order) and its goto followed. What it
 * returned is recorded with the call, so a replay applies the same Command
 * without running the tool again. A Command to the parent graph
 * (`graph: Command.PARENT`, a handoff) is passed up with the conversation so
 * far and every call's ToolMessage.
 *
 * A tool may call `interrupt()`: the node then pauses (whatever
 * `handleToolErrors` says), and on resume only the calls without a recorded
 * result run again.
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
    const settled = await Promise.allSettled(
      calls.map((call) =>
        ctx.effect<ToolMessage | RecordedCommand>(
          toolEffectName(call.id!),
          async ({ idempotencyKey, signal }) => {
            const tool = byName.get(call.name);
            if (tool === undefined) {
              return errorMessage(
                call.id!,
                call.name,
                `there is no tool named "${call.name}" (tools: ${[...byName.keys()].join(", ")})`,
              );
            }
            // GenAI semantic conventions' tool span, under the effect's (traced runs only).
            const span = startGenAISpan(`execute_tool ${call.name}`, {
              "gen_ai.operation.name": "execute_tool",
              "gen_ai.tool.name": call.name,
              "gen_ai.tool.call.id": call.id!,
              "gen_ai.tool.type": "function",
              ...(tool.description ? { "gen_ai.tool.description": tool.description } : {}),
            });
            try {
              const output: unknown = await inSpan(span, () =>
                tool.invoke(
                  { ...call, type: "tool_call" },
                  { signal, metadata: { idempotencyKey, toolCallId: call.id } },
                ),
              );

              if (isCommand(output)) return recordCommand(output);
              return output instanceof ToolMessage
                ? output
                : new ToolMessage({
                    content: String(output),
                    tool_call_id: call.id!,
                    name: call.name,
                  });
            } catch (error) {
              if (isGraphInterrupt(error) || options.handleToolErrors === false) throw error;
              return errorMessage(
                call.id!,
                call.name,
                error instanceof Error ? error.message : String(error),
              );
            }
          },
        ),
      ),
    );
    return combineResults(key, history, outcome(settled));
  };
}

/**
 * Every call has settled, so every result that will be recorded is recorded
 * before the task reports its pause. Interrupts win over failures, and all
 * of them are reported at once (in call order), so that a human can answer
 * every paused call before any runs again.
 */
function outcome<T>(settled: readonly PromiseSettledResult<T>[]): T[] {
  const interrupts: Interrupt[] = [];
  let failure: { error: unknown } | undefined;
  for (const result of settled) {
    if (result.status === "fulfilled") continue;
    if (isGraphInterrupt(result.reason)) interrupts.push(...result.reason.interrupts);
    else failure ??= { error: result.reason };
  }
  if (interrupts.length > 0) throw new GraphInterrupt(interrupts);
  if (failure !== undefined) throw failure.error;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

function errorMessage(toolCallId: string, name: string, text: string): ToolMessage {
  return new ToolMessage({
    content: `Error: ${text}`,
    tool_call_id: toolCallId,
    name,
    status: "error",
  });
}
