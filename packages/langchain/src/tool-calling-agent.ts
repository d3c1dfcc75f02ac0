import { SystemMessage, isAIMessage, type BaseMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState } from "@waypoint/core";
import { chatModelNode } from "./chat-model-node.js";
import { messages } from "./messages-channel.js";
import { toolNode } from "./tool-node.js";

/**
 * The state of a conversation: `{ messages }`, merged by id (LangGraph's
 * name). Spread it to add keys: `defineState({ ...MessagesAnnotation, topic: lastValue<string>() })`.
 */
export const MessagesAnnotation = defineState({ messages: messages() });

/** The prebuilt agent's state: MessagesAnnotation. */
export const AgentState = MessagesAnnotation;

/** Options of `createToolCallingAgent`: the model, its tools, the store and a system prompt. */
export interface ToolCallingAgentOptions {
  /** A chat model that supports `bindTools`. */
  readonly model: BaseChatModel;
  readonly tools: readonly StructuredToolInterface[];
  /** Create it with `serializer: langchainSerializer()` so messages can be saved. */
  readonly checkpointer?: Checkpointer;
  /** Put before the conversation, as a SystemMessage, on every model call. */
  readonly systemPrompt?: string;
}

/**
 * The familiar prebuilt loop: the model answers; while its answer asks for
 * tools, a durable ToolNode runs them and the model answers again.
 */
export function createToolCallingAgent(options: ToolCallingAgentOptions) {
  if (typeof options.model.bindTools !== "function") {
    throw new TypeError("createToolCallingAgent needs a chat model that supports bindTools");
  }
  const model = options.model.bindTools([...options.tools]);
  const prefix =
    options.systemPrompt === undefined ? [] : [new SystemMessage(options.systemPrompt)];
  return new StateGraph(AgentState)
    .addNode("agent", chatModelNode(model, { prefix }))
    .addNode("tools", toolNode(options.tools))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", (state) => (wantsTools(state.messages) ? "tools" : END), [
      "tools",
      END,
    ])
    .addEdge("tools", "agent")
    .compile(options.checkpointer ? { checkpointer: options.checkpointer } : {});
}

function wantsTools(history: readonly BaseMessage[]): boolean {
  const last = history.at(-1);
  return last !== undefined && isAIMessage(last) && (last.tool_calls?.length ?? 0) > 0;
}
