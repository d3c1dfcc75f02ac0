import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

/**
 * A chat model that answers from the conversation alone (no network, no turn
 * counter), so a process that resumes a thread gets the answers the first
 * one got. `answer` may be async: the crash test parks a worker in it.
 */
export class ScriptedModel extends BaseChatModel {
  constructor(
    private readonly answer: (history: readonly BaseMessage[]) => AIMessage | Promise<AIMessage>,
  ) {
    super({});
  }

  _llmType(): string {
    return "scripted-agent";
  }

  /** The script already knows its tools. */
  override bindTools(): this {
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const message = await this.answer(messages);
    return { generations: [{ message, text: message.text }] };
  }
}

/** Whether a tool named `toolName` has answered in the conversation. */
export const answered = (history: readonly BaseMessage[], toolName: string) =>
  history.some((m) => ToolMessage.isInstance(m) && m.name === toolName);

/** An AI message that calls one tool. */
export const call = (id: string, name: string, args: Record<string, unknown> = {}) =>
  new AIMessage({ content: "", tool_calls: [{ id, name, args, type: "tool_call" }] });
