export {
  barrier,
  ephemeral,
  lastValue,
  reducer,
  topic,
  untracked,
  type Channel,
  type ChannelSpec,
  type ToolCallRequest,
  type StandardSchemaV1,
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
  type CoreErrorCode,
} from "./errors.js";
export {
  CompiledGraph,
  type InvokeOptions,
  type InvokeResult,
  type PendingToolCall,
  type StateSnapshot,
  type StateTask,
  type StreamOptions,
} from "./compiled-graph.js";
export type {
  EffectInfo,
  NodeContext,
  NodeFunction,
  NodeOptions,
  RetryPolicy,
  Router,
  RouterResult,
  RunnableLike,
  RunnableLikeConfig,
} from "./graph/graph-spec.js";
export { StateGraph, type BranchOptions } from "./graph/state-graph.js";
export type { CompileOptions } from "./graph/compile-options.js";
export { Annotation, AnnotationRoot, type AnnotationOptions } from "./graph/annotation.js";
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
  type EntrypointContext,
  type EntrypointInterrupted,
  type EntrypointOptions,
  type EntrypointSnapshot,
} from "./functional/entrypoint.js";
export { task, type TaskOptions } from "./functional/task.js";
