export { EmptyChannelError, MultipleWritesError } from "./channel.js";
export type { Channel, ChannelSpec, ToolCallRequest } from "./channel.js";
export { barrier } from "./barrier.js";
export { ephemeral } from "./ephemeral.js";
export { lastValue, type LastValueOptions } from "./last-value.js";
export { reducer, type ReducerOptions } from "./reducer.js";
export { validateWith } from "./standard-schema.js";
export type {
  StandardSchemaV1,
  StandardSchemaV1FailureResult,
  StandardSchemaV1Issue,
  StandardSchemaV1PathSegment,
  StandardSchemaV1Props,
  StandardSchemaV1Result,
  StandardSchemaV1SuccessResult,
  StandardSchemaV1Types,
} from "./standard-schema.js";
export { topic, type TopicOptions } from "./topic.js";
export { trigger } from "./trigger.js";
export { untracked, type UntrackedOptions } from "./untracked.js";
