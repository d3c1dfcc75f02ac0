import {
  AIMessage,
  AIMessageChunk,
  isAIMessageChunk,
  type BaseMessage,
} from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { Runnable } from "@langchain/core/runnables";
import type { NodeContext, Salvage } from "@waypoint/core";
import { inSpan, startGenAISpan } from "./internal/genai-spans.js";

/**
 * Options of `chatModelNode`: where the conversation is, messages to put
 * before it, and what to do after a crash cut a response short.
 */
export interface ChatModelNodeOptions {
  /** The state key of the conversation (default "messages"). */
  readonly messagesKey?: string;
  /** Messages put before the conversation on every call (a system prompt). */
  readonly prefix?: readonly BaseMessage[];
  /**
   * Called when the node runs again after a crash that interrupted a
   * response: `salvage.value` holds the text streamed so far.
   */
  readonly onSalvage?: (salvage: Salvage, ctx: NodeContext) => void | Promise<void>;
}

/** A chat model, or a LangChain Runnable from messages to a message chunk, that `chatModelNode` calls. */
export type ChatRunnable = Pick<BaseChatModel, "stream"> | Runnable<BaseMessage[], AIMessageChunk>;

/**
 * A node that calls a chat model and appends its answer. Tokens stream to
 * `streamMode: "messages"` as they arrive, and the growing answer is saved as
 * the task's partial output (throttled), so a crash mid-response leaves the
 * text so far for `ctx.salvage`.
 */
export function chatModelNode(model: ChatRunnable, options: ChatModelNodeOptions = {}) {
  const key = options.messagesKey ?? "messages";
  return async (state: Record<string, unknown>, ctx: NodeContext) => {
    if (ctx.salvage !== undefined) await options.onSalvage?.(ctx.salvage, ctx);
    const input = [...(options.prefix ?? []), ...((state[key] ?? []) as BaseMessage[])];
    const name = modelName(model);
    // GenAI semantic conventions' inference span, under the task's (traced runs only).
    const span = startGenAISpan(name === undefined ? "chat" : `chat ${name}`, {
      "gen_ai.operation.name": "chat",
      ...(name !== undefined ? { "gen_ai.request.model": name } : {}),
    });
    const answer = await inSpan(
      span,
      async () => {
        let answer: AIMessageChunk | undefined;
        // "nostream": the tokens are reported here, as they come (the model may be any runnable).
        const stream = await (model as Runnable<BaseMessage[], AIMessageChunk>).stream(input, {
          signal: ctx.signal,
          tags: ["nostream"],
        });
        for await (const chunk of stream) {
          const piece: AIMessageChunk = isAIMessageChunk(chunk)
            ? chunk
            : new AIMessageChunk({
                content: textContent((chunk as { content?: unknown }).content),
              });
          answer = answer === undefined ? piece : answer.concat(piece);
          ctx.streamMessage(piece);
          ctx.partial({ text: textOf(answer) });
        }
        return answer;
      },
      (answer, span) => {
        const usage = answer?.usage_metadata;
        span.setAttributes({
          ...(answer?.id ? { "gen_ai.response.id": answer.id } : {}),
          ...(usage !== undefined
            ? {
                "gen_ai.usage.input_tokens": usage.input_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
              }
            : {}),
        });
      },
    );
    return { [key]: [toMessage(answer)] };
  };
}

/** The model's name as its LangChain class holds it (`model` or `modelName`), if it does. */
function modelName(model: ChatRunnable): string | undefined {
  const fields = model as { model?: unknown; modelName?: unknown };
  if (typeof fields.model === "string") return fields.model;
  if (typeof fields.modelName === "string") return fields.modelName;
  return undefined;
}

function textContent(content: unknown): string {
  return typeof content === "string" ? content : JSON.stringify(content ?? "");
}

function textOf(message: AIMessageChunk): string {
  return typeof message.content === "string" ? message.content : JSON.stringify(message.content);
}

/** The streamed chunks as one complete AI message (the chunk's id, tool calls and usage kept). */
function toMessage(answer: AIMessageChunk | undefined): AIMessage {
  if (answer === undefined) return new AIMessage({ content: "" });
  return new AIMessage({
    content: answer.content,
    ...(answer.id ? { id: answer.id } : {}),
    tool_calls: answer.tool_calls ?? [],
    invalid_tool_calls: answer.invalid_tool_calls ?? [],
    ...(answer.usage_metadata ? { usage_metadata: answer.usage_metadata } : {}),
    additional_kwargs: answer.additional_kwargs,
    response_metadata: answer.response_metadata,
  });
}
