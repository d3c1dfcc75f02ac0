import {
  AIMessage,
  AIMessageChunk,
  BaseMessageChunk,
  ChatMessage,
  ChatMessageChunk,
  FunctionMessage,
  HumanMessage,
  HumanMessageChunk,
  RemoveMessage,
  SystemMessage,
  SystemMessageChunk,
  ToolMessage,
  ToolMessageChunk,
  isBaseMessage,
  type BaseMessage,
} from "@langchain/core/messages";
import { SuperJSON, type SuperJSONResult } from "superjson";
import {
  createSerializer,
  type CustomType,
  type JsonValue,
  type Serializer,
  type SerializerPlugin,
} from "@waypoint/checkpoint";

type MessageClass = new (fields: never) => BaseMessage;

/** The only classes a stored message may come back as, by type: a closed set. */
const MESSAGES: Readonly<Record<string, MessageClass>> = {
  human: HumanMessage,
  ai: AIMessage,
  system: SystemMessage,
  tool: ToolMessage,
  function: FunctionMessage,
  chat: ChatMessage,
  remove: RemoveMessage,
};
const CHUNKS: Readonly<Record<string, MessageClass>> = {
  human: HumanMessageChunk,
  ai: AIMessageChunk,
  system: SystemMessageChunk,
  tool: ToolMessageChunk,
  chat: ChatMessageChunk,
};

/** The fields a message class takes in its constructor (those set on the message are saved). */
const FIELDS = [
  "content",
  "id",
  "name",
  "additional_kwargs",
  "response_metadata",
  "tool_calls",
  "invalid_tool_calls",
  "tool_call_chunks",
  "usage_metadata",
  "tool_call_id",
  "artifact",
  "status",
  "role",
] as const;

interface StoredForm {
  readonly type: string;
  readonly chunk: boolean;
  /** superjson's { json, meta } of the fields, so a Date or a Map in an artifact comes back as one. */
  readonly fields: SuperJSONResult;
}

/** Own instance: nothing registered on it, so it revives only built-in types. */
const fieldsJson = new SuperJSON();

/*
 * LangChain's own stored-message mapping copies fields through JSON and drops
 * a Date in an artifact; here the fields keep their types.
 */
const messageType: CustomType<BaseMessage, JsonValue> = {
  name: "langchain:message",
  isApplicable: (value): value is BaseMessage => isBaseMessage(value),
  serialize: (message) => {
    const record = message as unknown as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    for (const field of FIELDS) if (record[field] !== undefined) fields[field] = record[field];
    const form: StoredForm = {
      type: message.getType(),
      chunk: message instanceof BaseMessageChunk,
      fields: fieldsJson.serialize(fields),
    };
    return form as unknown as JsonValue;
  },
  deserialize: (json) => {
    const form = json as unknown as StoredForm;
    const classes = form?.chunk === true ? CHUNKS : MESSAGES;
    const MessageClass =
      typeof form?.type === "string" && Object.hasOwn(classes, form.type)
        ? classes[form.type]
        : undefined;
    if (MessageClass === undefined)
      throw new Error(`unknown LangChain message type ${JSON.stringify(form?.type)}`);
    return new MessageClass(fieldsJson.deserialize<never>(form.fields));
  },
};

/**
 * Serializer plug-in for LangChain messages (human, AI with tool calls, tool,
 * system, chunks): they round-trip with their class, tool calls, usage and
 * artifacts, and only these message classes are ever revived.
 */
export const langchainPlugin: SerializerPlugin = {
  name: "langchain",
  customTypes: [messageType],
};

/** A serializer with the LangChain plug-in: pass it to any checkpointer. */
export function langchainSerializer(): Serializer {
  return createSerializer({ plugins: [langchainPlugin] });
}
