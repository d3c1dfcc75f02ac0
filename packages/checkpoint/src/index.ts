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
export { newCheckpointId } from "./checkpoint-id.js";
export type {
  Checkpointer,
  CheckpointerOptions,
  GetOptions,
  ListOptions,
  LoadedCheckpoint,
  NewCheckpoint,
  PruneOptions,
  PruneResult,
  PutRequest,
  ThreadExport,
} from "./checkpointer.js";
export {
  CHECKPOINT_ERROR_CODES,
  CheckpointConflictError,
  CheckpointNotFoundError,
  CheckpointerClosedError,
  CorruptRecordError,
  InvalidArgumentError,
  StorageUnavailableError,
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
