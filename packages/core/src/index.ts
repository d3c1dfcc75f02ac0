/**
 * `import … from "@waypoint/core"`: channels, `StateGraph`, the run loop that
 * checkpoints every superstep, interrupts, effects, the Functional API, and
 * runs with their workers.
 *
 * @module main
 */
export {
  barrier,
  ephemeral,
  lastValue,
  reducer,
  topic,
  untracked,
  type Channel,
  type ChannelSpec,
  type LastValueOptions,
  type ReducerOptions,
  type StandardSchemaV1,
  type StandardSchemaV1FailureResult,
  type StandardSchemaV1Issue,
  type StandardSchemaV1PathSegment,
  type StandardSchemaV1Props,
  type StandardSchemaV1Result,
  type StandardSchemaV1SuccessResult,
  type StandardSchemaV1Types,
  type ToolCallRequest,
  type TopicOptions,
  type UntrackedOptions,
} from "./channels/index.js";
export {
  COPY,
  Command,
  END,
  INTERRUPT,
  RUNTIME_CHANNELS,
  START,
  Send,
  toolEffectName,
  type Goto,
  type UpdatePairs,
} from "./constants.js";
export type { EffectRecord } from "./pregel/task-journal.js";
export {
  CORE_ERROR_CODES,
  CheckpointerRequiredError,
  GraphChangedError,
  GraphValidationError,
  MigrationFailedError,
  InvalidResumeError,
  InvalidRouteError,
  InvalidUpdateError,
  NodeTimeoutError,
  NonDeterminismError,
  RecursionLimitError,
  RunWaitTimeoutError,
  TerminalError,
  type CoreError,
  type CoreErrorCode,
} from "./errors.js";
export {
  CompiledGraph,
  type InvokeOptions,
  type InvokeResult,
  type PendingToolCall,
  type RetriedEffect,
  type StateSnapshot,
  type StateTask,
  type StreamOptions,
} from "./compiled-graph.js";
export type {
  EffectInfo,
  NodeContext,
  NodeFunction,
  NodeOptions,
  NodeResult,
  RetryPolicy,
  Router,
  RouterResult,
  RunnableLike,
  RunnableLikeConfig,
} from "./graph/graph-spec.js";
export {
  StateGraph,
  type BranchOptions,
  type PathMap,
  type SequenceEntry,
  type SequenceNodes,
} from "./graph/state-graph.js";
export type { CompileOptions } from "./graph/compile-options.js";
export {
  Annotation,
  AnnotationRoot,
  type AnnotationEntry,
  type AnnotationFunction,
  type AnnotationOptions,
  type DefinitionOf,
} from "./graph/annotation.js";
export type { GraphDrawing } from "./graph/graph-drawing.js";
export {
  GraphInterrupt,
  isGraphInterrupt,
  isInterrupted,
  type Interrupt,
} from "./pregel/graph-interrupt.js";
export { interrupt } from "./pregel/interrupt.js";
export { defaultRetryOn } from "./pregel/retry-policy.js";
export type { Salvage } from "./pregel/task-journal.js";
export type { Durability } from "./pregel/run-loop.js";
export type { StateUpdate } from "./pregel/thread-writer.js";
export type { MessageMetadata, StreamMode, TaskEvent } from "./pregel/stream-events.js";
export { registerTaskWrapper, type TaskWrapper, type WrappedTask } from "./pregel/task-wrappers.js";
export type { DebugCheckpoint, DebugEvent } from "./pregel/debug-events.js";
export { defineState, type StateDefinition, type StateOf, type UpdateOf } from "./state.js";
export {
  Client,
  RunsClient,
  createClient,
  type ClientOptions,
  type CreateRunOptions,
  type RunStreamEvent,
  type RunStreamMode,
  type RunStreamOptions,
  type RunWithVersion,
  type WaitOptions,
} from "./runs/client.js";
export type { RunnableGraph } from "./runs/run-input.js";
export { RunStoppedError, Worker, type WorkerEvent, type WorkerOptions } from "./runs/worker.js";
export type {
  DeployOptions,
  GraphIdentity,
  GraphVersion,
  MigrationInfo,
  MigrationMap,
  MigrationState,
  MigrationStep,
} from "./graph/graph-identity.js";
export {
  effectIdempotencyKey,
  recordedEffectKey,
  type EffectKeyParts,
  type RecordedCallParts,
} from "./pregel/task-id.js";
export {
  Entrypoint,
  EntrypointFinal,
  entrypoint,
  getPreviousState,
  type EntrypointBox,
  type EntrypointContext,
  type EntrypointFunction,
  type EntrypointInterrupted,
  type EntrypointOptions,
  type EntrypointSnapshot,
  type EntrypointState,
  type OutputOf,
} from "./functional/entrypoint.js";
export { task, type TaskOptions } from "./functional/task.js";
