import type { Checkpointer } from "@waypoint/checkpoint";
import {
  END,
  START,
  StateGraph,
  defineState,
  lastValue,
  toolEffectName,
  type NodeContext,
  type ToolCallRequest,
} from "@waypoint/core";

interface Conversation {
  readonly asked: readonly ToolCallRequest[];
  readonly answered: readonly string[];
}

/**
 * A model that asks for a tool call, and a tool node that runs it through
 * `ctx.effect(toolEffectName(id))` and then waits for approval: the call is
 * pending (no result in the state) with its result recorded.
 */
export const ToolState = defineState({
  conversation: {
    ...lastValue<Conversation>(),
    pendingToolCalls: (value: unknown) => {
      const conversation = value as Conversation;
      return conversation.asked.filter((call) => !conversation.answered.includes(call.id));
    },
  },
});

export function buildToolGraph(checkpointer: Checkpointer) {
  function model() {
    const call = { id: "call-1", name: "weather", args: { city: "Pell" } };
    return { conversation: { asked: [call], answered: [] } };
  }
  async function tools(state: { conversation?: Conversation }, ctx: NodeContext) {
    const call = state.conversation!.asked[0]!;
    await ctx.effect(toolEffectName(call.id), () => ({ forecast: "fog" }));
    ctx.interrupt({ approve: call.name });
    return { conversation: { ...state.conversation!, answered: [call.id] } };
  }
  return new StateGraph(ToolState)
    .addNode("model", model)
    .addNode("tools", tools)
    .addEdge(START, "model")
    .addEdge("model", "tools")
    .addEdge("tools", END)
    .compile({ checkpointer, name: "tools" });
}
