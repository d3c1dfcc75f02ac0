/**
 * For backend authors: the shared record codec, snapshot policy and
 * retention rules. Every backend stores the same records and applies the
 * same checks through these functions, so that they all behave alike.
 */
export type {
  EncodedCheckpoint,
  EncodedHeader,
  EncodedLink,
  EncodedPendingWrite,
  HeaderLink,
} from "./record.js";
export { encodePendingWrites, encodePut, type EncodedPut } from "./record-codec.js";
export { ANCHOR_EVERY } from "./internal/header-delta.js";
export {
  anchorOf,
  assertSupportedVersion,
  chainPath,
  decodeCheckpoint,
  decodeHeader,
  decodeLoaded,
  decodePendingWrite,
  decodeSnapshot,
  decodeWrites,
  headerDecoder,
  matchesFilter,
  sortPending,
} from "./record-decode.js";
export { threadExport, validateThreadExport } from "./thread-export.js";
export {
  isSnapshotDue,
  resolveSnapshotPolicy,
  type DeltaBytes,
  type SnapshotPolicy,
} from "./snapshot-policy.js";
export { deriveThreadStatus } from "./threads.js";
export {
  checkPruneOptions,
  checkThreadFilter,
  pruneSelection,
  type PruneCandidate,
} from "./internal/retention.js";
export {
  assertId,
  assertParsed,
  resolveAddress,
  resolveLimit,
  resolveNamespace,
  type ParseResult,
} from "./internal/arguments.js";
export { checkMetadataFilter } from "./internal/metadata-text.js";
export { listThreadPage, type HeadsPage, type ThreadHead } from "./internal/thread-pages.js";
export {
  attemptsExhausted,
  checkClaim,
  checkCreateRequest,
  checkFence,
  checkLeaseMs,
  checkPruneRuns,
  checkRunId,
  isActive,
  planCreate,
  resolveListRuns,
  resolveStatusFilter,
  type CreatePlan,
  type ResolvedCreate,
  type RunState,
} from "./internal/run-rules.js";
export {
  DEFAULT_GROUP_COMMIT,
  GroupCommit,
  type GroupCommitOptions,
  type GroupCommitSender,
} from "./internal/group-commit.js";
export {
  decodeControl,
  decodeRunRow,
  fenceError,
  reportControl,
  type FenceState,
  type RunRow,
} from "./internal/run-row.js";
export { RunWakes, type WakeSource } from "./internal/run-wakes.js";
export { parseJson } from "./serializer.js";
export { putRefusal } from "./internal/put-refusal.js";
/**
 * The main entry's types that the functions above take and return,
 * re-exported so that this entry's API names every type it uses.
 */
export type {
  ChainInfo,
  ChannelValues,
  ChannelVersions,
  ChannelWrite,
  Checkpoint,
  CheckpointAddress,
  CheckpointErrorCode,
  CheckpointHeader,
  CheckpointMetadata,
  ClassRegistration,
  CreateRunRequest,
  CustomType,
  Delta,
  ErrorData,
  Fence,
  JsonValue,
  LeaseLostError,
  ListRunsOptions,
  ListThreadsOptions,
  LoadedCheckpoint,
  MultitaskStrategy,
  NewCheckpoint,
  PendingWrite,
  PlannedTask,
  PruneOptions,
  PruneRunsOptions,
  PutRequest,
  RunControl,
  RunRecord,
  RunStatus,
  RunWatch,
  SerializedError,
  SerializedValue,
  Serializer,
  SerializerPlugin,
  ThreadExport,
  ThreadPage,
  ThreadStatus,
  ThreadSummary,
  WaypointError,
} from "./index.js";
