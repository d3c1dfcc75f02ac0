import { AsyncLocalStorage } from "node:async_hooks";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import {
  AIMessageChunk,
  isBaseMessage,
  isBaseMessageChunk,
  type BaseMessage,
} from "@langchain/core/messages";
import type { ChatGenerationChunk, LLMResult } from "@langchain/core/outputs";
import type { RunnableConfig } from "@langchain/core/runnables";
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { Command, type NodeContext } from "@waypoint/core";

// Nested runnables find their parent's config (callbacks, signal, metadata) in
// LangChain's async local storage; it is a no-op until given one, as
// LangGraph does at import. A storage set already (by LangGraph) is kept.
AsyncLocalStorageProviderSingleton.initializeGlobalInstance(new AsyncLocalStorage());

/**
 * A LangChain callback handler that reports a node's chat-model calls to
 * `streamMode: "messages"`: each token chunk as it arrives, and the whole
 * message of a call that did not stream. Models stream when it is present
 * (`lc_prefer_streaming`), as with LangGraph's handler of the same name.
 */
export class StreamMessagesHandler extends BaseCallbackHandler {
  name = "waypoint_stream_messages";
  lc_prefer_streaming = true;
  // Tokens go out in order, before the node returns (not from LangChain's background queue).
  override awaitHandlers = true;
  private readonly streamedRuns = new Set<string>();
  /** Ids of the messages reported so far, so that a node's output does not report them again. */
  private readonly reported = new Set<string>();

  constructor(private readonly ctx: Pick<NodeContext, "streamMessage">) {
    super();
  }

  override handleLLMNewToken(
    token: string,
    _index: unknown,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    fields?: { chunk?: ChatGenerationChunk },
  ): void {
    this.streamedRuns.add(runId);
    const message = fields?.chunk?.message;
    this.report(
      message !== undefined && isBaseMessageChunk(message)
        ? message
        : new AIMessageChunk({ content: token }),
    );
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const streamed = this.streamedRuns.delete(runId);
    for (const generations of output.generations) {
      for (const generation of generations) {
        const message = (generation as { message?: BaseMessage }).message;
        if (message === undefined || !isBaseMessage(message)) continue;
        // Its tokens went out already; the id it ends with is the one a node returns.
        if (streamed) {
          if (message.id !== undefined) this.reported.add(message.id);
        } else {
          this.report(message);
        }
      }
    }
  }

  /**
   * Reports the messages a node returned (in its update, a Command's update,
   * or `[update, Command]`) that no model call reported already, as
   * LangGraph does for messages written to the state.
   */
  reportOutput(result: unknown): void {
    for (const message of messagesIn(result)) {
      if (message.id === undefined || !this.reported.has(message.id)) this.report(message);
    }
  }

  private report(message: BaseMessage): void {
    if (message.id !== undefined) this.reported.add(message.id);
    this.ctx.streamMessage(message);
  }
}

function messagesIn(result: unknown): BaseMessage[] {
  if (result instanceof Command) return messagesIn(result.update);
  if (Array.isArray(result)) {
    // [update, Command] or Command update pairs ([key, value], …).
    return result.flatMap((item: unknown) =>
      Array.isArray(item) && item.length === 2 ? valueMessages(item[1]) : messagesIn(item),
    );
  }
  if (result === null || typeof result !== "object") return [];
  return Object.values(result).flatMap(valueMessages);
}

function valueMessages(value: unknown): BaseMessage[] {
  if (isBaseMessage(value)) return [value];
  return Array.isArray(value) ? value.filter((item: unknown) => isBaseMessage(item)) : [];
}

/**
 * The LangChain config for calls made inside a node: pass it to a model's
 * `invoke` or `stream` (or any runnable that calls one) so that its output
 * reaches `streamMode: "messages"`, the node's signal aborts it, and tracers
 * see the node, step and namespace under LangGraph's metadata names.
 */
export function runnableConfig(ctx: ConfigContext): RunnableConfig {
  return configWith(new StreamMessagesHandler(ctx), ctx);
}

type ConfigContext = Pick<
  NodeContext,
  "streamMessage" | "signal" | "node" | "step" | "namespace" | "threadId"
>;

function configWith(handler: StreamMessagesHandler, ctx: ConfigContext): RunnableConfig {
  return {
    callbacks: [handler],
    signal: ctx.signal,
    metadata: {
      thread_id: ctx.threadId,
      langgraph_node: ctx.node,
      langgraph_step: ctx.step,
      langgraph_checkpoint_ns: ctx.namespace,
    },
  };
}

/**
 * Wraps a node so that every LangChain call inside it, at any depth and
 * without being passed a config, runs with `runnableConfig(ctx)`: model
 * tokens reach `streamMode: "messages"`, and so do the messages the node
 * returns that no model call reported (a ToolMessage, a human message).
 */
export function langchainNode<State, Result>(
  node: (state: State, ctx: NodeContext) => Result | Promise<Result>,
): (state: State, ctx: NodeContext) => Promise<Result> {
  return async (state, ctx) => {
    const handler = new StreamMessagesHandler(ctx);
    const result = await AsyncLocalStorageProviderSingleton.runWithConfig(
      configWith(handler, ctx),
      () => node(state, ctx),
    );
    handler.reportOutput(result);
    return result;
  };
}
