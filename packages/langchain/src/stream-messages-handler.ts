import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import {
  AIMessageChunk,
  isBaseMessage,
  isBaseMessageChunk,
  type BaseMessage,
} from "@langchain/core/messages";
import type { ChatGenerationChunk, LLMResult } from "@langchain/core/outputs";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { NodeContext } from "@waypoint/core";

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
    this.ctx.streamMessage(
      message !== undefined && isBaseMessageChunk(message)
        ? message
        : new AIMessageChunk({ content: token }),
    );
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    if (this.streamedRuns.delete(runId)) return;
    for (const generations of output.generations) {
      for (const generation of generations) {
        const message = (generation as { message?: BaseMessage }).message;
        if (message !== undefined && isBaseMessage(message)) this.ctx.streamMessage(message);
      }
    }
  }
}

/**
 * The LangChain config for calls made inside a node: pass it to a model's
 * `invoke` or `stream` (or any runnable that calls one) so that its output
 * reaches `streamMode: "messages"`, the node's signal aborts it, and tracers
 * see the node, step and namespace under LangGraph's metadata names.
 */
export function runnableConfig(
  ctx: Pick<NodeContext, "streamMessage" | "signal" | "node" | "step" | "namespace" | "threadId">,
): RunnableConfig {
  return {
    callbacks: [new StreamMessagesHandler(ctx)],
    signal: ctx.signal,
    metadata: {
      thread_id: ctx.threadId,
      langgraph_node: ctx.node,
      langgraph_step: ctx.step,
      langgraph_checkpoint_ns: ctx.namespace,
    },
  };
}
