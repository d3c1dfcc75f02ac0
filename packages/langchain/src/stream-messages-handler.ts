import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import {
  AIMessageChunk,
  isBaseMessage,
  isBaseMessageChunk,
  type BaseMessage,
} from "@langchain/core/messages";
import type { ChatGenerationChunk, LLMResult } from "@langchain/core/outputs";
import { Command, type NodeContext } from "@waypoint/core";

/** Tags that keep a model call out of `streamMode: "messages"`, as in LangGraph. */
const NO_STREAM_TAGS = ["nostream", "langsmith:nostream"];

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
  /** Model calls tagged "nostream" (chatModelNode reports its own tokens). */
  private readonly silentRuns = new Set<string>();
  /**
   * Ids of the messages reported so far, and of the node's input, so that its
   * output does not report them again; and the messages themselves, for those
   * without an id.
   */
  private readonly reported = new Set<string>();
  private readonly reportedMessages = new WeakSet<object>();

  /**
   * `parent`: the handler of the node that runs this one's graph as a
   * subgraph, which must not report again what this one reported.
   */
  constructor(
    private readonly ctx: Pick<NodeContext, "streamMessage">,
    private readonly parent?: StreamMessagesHandler,
  ) {
    super();
  }

  override handleChatModelStart(
    _llm: unknown,
    _messages: unknown,
    runId: string,
    _parentRunId?: string,
    _extraParams?: unknown,
    tags?: string[],
  ): void {
    if (tags?.some((tag) => NO_STREAM_TAGS.includes(tag)) === true) this.silentRuns.add(runId);
  }

  override handleLLMNewToken(
    token: string,
    _index: unknown,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    fields?: { chunk?: ChatGenerationChunk },
  ): void {
    if (this.silentRuns.has(runId)) return;
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
    if (this.silentRuns.delete(runId)) return;
    for (const generations of output.generations) {
      for (const generation of generations) {
        const message = (generation as { message?: BaseMessage }).message;
        if (message === undefined || !isBaseMessage(message)) continue;
        // Its tokens went out already; the id it ends with is the one a node returns.
        if (streamed) this.see(message);
        else this.report(message);
      }
    }
  }

  override handleLLMError(_error: unknown, runId: string): void {
    this.streamedRuns.delete(runId);
    this.silentRuns.delete(runId);
  }

  /** Marks the messages of the node's input as known: its output may carry them on (a handoff does). */
  seeInput(input: unknown): void {
    if (input === null || typeof input !== "object" || Array.isArray(input)) return;
    for (const message of Object.values(input).flatMap(valueMessages)) this.see(message);
  }

  /** `ctx.streamMessage` of the node: a chunk it reports itself is not reported again. */
  streamMessage(chunk: unknown): void {
    if (chunk !== null && typeof chunk === "object") this.see(chunk);
    this.ctx.streamMessage(chunk);
  }

  /**
   * Reports the messages a node returned (in its update, a Command's update,
   * or `[update, Command]`) that no model call reported already, as
   * LangGraph does for messages written to the state.
   */
  reportOutput(result: unknown): void {
    for (const message of messagesIn(result)) {
      const known =
        this.reportedMessages.has(message) ||
        (message.id !== undefined && this.reported.has(message.id));
      if (!known) this.report(message);
    }
  }

  private report(message: BaseMessage): void {
    this.see(message);
    this.ctx.streamMessage(message);
  }

  private see(message: { id?: unknown }): void {
    this.reportedMessages.add(message);
    if (typeof message.id === "string") this.reported.add(message.id);
    this.parent?.see(message);
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
