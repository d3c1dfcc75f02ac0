/**
 * `import … from "@waypoint/checkpoint"`: the storage contract every backend
 * implements, the checkpoint types, the serializer, `MemoryCheckpointer` and
 * the typed errors.
 *
 * @module main
 */
export {
  FORMAT_VERSION,
  type ChainInfo,
  type ChannelValues,
  type ChannelVersions,
  type ChannelWrite,
  type Checkpoint,
  type CheckpointAddress,
  type CheckpointHeader,
  type CheckpointMetadata,
  type Delta,
  type JsonValue,
  type PlannedTask,
} from "./checkpoint.js";
// The records a ThreadExport holds (also exported from ./backend, for backend authors).
export type { EncodedCheckpoint, EncodedPendingWrite } from "./record.js";
export { newCheckpointId } from "./checkpoint-id.js";
/** The identity rule every backend applies (docs/limits.md). */
export { MAX_ID_LENGTH, isId as isValidId } from "./internal/arguments.js";
export type {
  Checkpointer,
  CheckpointerOptions,
  GetOptions,
  ListOptions,
  LoadedCheckpoint,
  NewCheckpoint,
  PruneOptions,
  PruneResult,
  PutPendingWritesOptions,
  PutRequest,
  ThreadExport,
} from "./checkpointer.js";
export {
  ACTIVE_RUN_STATUSES,
  DEFAULT_MAX_ATTEMPTS,
  ENDED_RUN_STATUSES,
  MULTITASK_STRATEGIES,
  RUN_CONTROLS,
  RUN_STATUSES,
  type ClaimOptions,
  type ClaimedRun,
  type CreateRunRequest,
  type Fence,
  type HeartbeatResult,
  type ListRunsOptions,
  type MultitaskStrategy,
  type PruneRunsOptions,
  type RunControl,
  type RunOutcome,
  type RunRecord,
  type RunStatus,
  type RunStore,
  type RunWatch,
} from "./runs.js";
export {
  CHECKPOINT_ERROR_CODES,
  CheckpointConflictError,
  CheckpointNotFoundError,
  CheckpointerClosedError,
  CorruptRecordError,
  InvalidArgumentError,
  LeaseLostError,
  RunNotFoundError,
  RunStateError,
  StorageUnavailableError,
  ThreadBusyError,
  ThreadExistsError,
  ThreadNotFoundError,
  UnserializableValueError,
  UnsupportedFormatVersionError,
  WaypointError,
  serializeError,
  type CheckpointErrorCode,
  type ConflictDetails,
  type ErrorData,
  type SerializedError,
} from "./errors.js";
export { MemoryCheckpointer } from "./memory-checkpointer.js";
export { MemoryRunStore } from "./memory-runs.js";
export {
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
  type PendingWrite,
} from "./pending-writes.js";
export {
  createSerializer,
  type ClassRegistration,
  type CustomType,
  type SerializedValue,
  type Serializer,
  type SerializerOptions,
  type SerializerPlugin,
} from "./serializer.js";
export { DEFAULT_SNAPSHOT_POLICY, type SnapshotPolicy } from "./snapshot-policy.js";
export {
  THREAD_STATUSES,
  type ListThreadsOptions,
  type ThreadPage,
  type ThreadStatus,
  type ThreadSummary,
} from "./threads.js";
