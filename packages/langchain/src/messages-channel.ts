import { randomUUID } from "node:crypto";
import {
  RemoveMessage,
  coerceMessageLikeToMessage,
  isAIMessage,
  isToolMessage,
  type BaseMessage,
  type BaseMessageLike,
} from "@langchain/core/messages";
import { reducer, type ChannelSpec } from "@waypoint/core";
import { langchainPlugin } from "./messages-plugin.js";

/** Removes every message when written as a RemoveMessage's id. */
export const REMOVE_ALL_MESSAGES = "__remove_all__";

/**
 * What a node may write to a `messages()` key: one message or a list, each a
 * LangChain message or anything LangChain turns into one.
 */
export type MessagesUpdate = BaseMessageLike | readonly BaseMessageLike[];

/**
 * Merges messages by id, as LangGraph's messagesStateReducer does: a new id is
 * appended, a known id replaces the message in place, a RemoveMessage removes
 * it. Pure: it never mutates its inputs.
 */
export function mergeMessages(
  current: readonly BaseMessage[],
  update: readonly BaseMessage[],
): BaseMessage[] {
  const merged = [...current];
  const position = new Map(merged.map((message, index) => [message.id, index]));
  const removed = new Set<string>();
  for (const message of update) {
    if (message instanceof RemoveMessage || message.getType() === "remove") {
      if (message.id === REMOVE_ALL_MESSAGES) {
        merged.length = 0;
        position.clear();
        continue;
      }
      if (!position.has(message.id))
        throw new Error(`cannot remove message "${message.id}": there is no message with that id`);
      removed.add(message.id!);
      continue;
    }
    const at = position.get(message.id);
    if (at === undefined) {
      position.set(message.id, merged.length);
      merged.push(message);
    } else {
      merged[at] = message;
    }
  }
  return removed.size === 0 ? merged : merged.filter((message) => !removed.has(message.id!));
}

/**
 * A state key of chat messages. Messages without an id get one when they are
 * written (before the write is stored), so that replaying the stored writes
 * after a restart gives the same ids.
 */
export function messages(): ChannelSpec<BaseMessage[], MessagesUpdate> {
  const spec = reducer(
    (current: BaseMessage[], update: MessagesUpdate) =>
      mergeMessages(current, update as unknown as BaseMessage[]),
    () => [] as BaseMessage[],
  );
  return {
    ...spec,
    // Messages are classes: the store's serializer gets LangChain's plug-in from the channel itself.
    serializerPlugins: [langchainPlugin],
    validate: (update: unknown) => {
      const list = (Array.isArray(update) ? update : [update]) as BaseMessageLike[];
      return list.map((like) => {
        const message = coerceMessageLikeToMessage(like);
        if (message.id === undefined) {
          const id = randomUUID();
          message.id = id;
          // Stored messages are built from lc_kwargs, so the id must be there too.
          message.lc_kwargs = { ...message.lc_kwargs, id };
        }
        return message;
      });
    },
    pendingToolCalls: (value: unknown) => unansweredToolCalls(value as BaseMessage[]),
  };
}

/** Tool calls of the last AI message that no tool message answers yet. */
export function unansweredToolCalls(history: readonly BaseMessage[]) {
  const lastAi = [...history].reverse().find((message) => isAIMessage(message));
  if (lastAi === undefined || !isAIMessage(lastAi)) return [];
  const answered = new Set(history.filter(isToolMessage).map((message) => message.tool_call_id));
  return (lastAi.tool_calls ?? [])
    .filter((call) => call.id !== undefined && !answered.has(call.id))
    .map((call) => ({ id: call.id!, name: call.name, args: call.args }));
}
