/**
 * The conformance suite every checkpointer runs, one spec per concern.
 *
 * ```ts
 * import { runCheckpointerConformance } from "@waypoint/checkpoint/testing";
 * runCheckpointerConformance({ name: "sqlite", create: (options) => new SqliteCheckpointer(file, options) });
 * ```
 */
import { describe } from "vitest";
import type { ConformanceOptions } from "./harness.js";
import { chainsSpec } from "./specs/chains.js";
import { concurrencySpec } from "./specs/concurrency.js";
import { conflictsSpec } from "./specs/conflicts.js";
import { fixturesSpec } from "./specs/fixtures.js";
import { forksSpec } from "./specs/forks.js";
import { getSpec } from "./specs/get.js";
import { headerDeltasSpec } from "./specs/header-deltas.js";
import { hostileSpec } from "./specs/hostile.js";
import { identitySpec } from "./specs/identity.js";
import { listSpec } from "./specs/list.js";
import { pendingWritesSpec } from "./specs/pending-writes.js";
import { putWithPendingSpec } from "./specs/put-with-pending.js";
import { retentionSpec } from "./specs/retention.js";
import { roundTripSpec } from "./specs/round-trip.js";
import { runsSpec } from "./specs/runs.js";
import { threadsSpec } from "./specs/threads.js";

/**
 * Registers the checkpointer suite with vitest, one spec per concern, each
 * test on a fresh checkpointer from `options.create`. Call it at the top
 * level of a backend's test file.
 */
export function runCheckpointerConformance(options: ConformanceOptions): void {
  describe(`${options.name} checkpointer conformance`, () => {
    roundTripSpec(options);
    getSpec(options);
    listSpec(options);
    pendingWritesSpec(options);
    putWithPendingSpec(options);
    chainsSpec(options);
    headerDeltasSpec(options);
    forksSpec(options);
    conflictsSpec(options);
    concurrencySpec(options);
    retentionSpec(options);
    threadsSpec(options);
    fixturesSpec(options);
    hostileSpec(options);
    identitySpec(options);
  });
}

/**
 * The run queue's suite (`checkpointer.runs`): queueing, strategies, leases,
 * fencing of the checkpointer's writes, control. A fresh store per test.
 */
export function runRunStoreConformance(options: ConformanceOptions): void {
  describe(`${options.name} run store conformance`, () => {
    runsSpec(options);
  });
}

export {
  Money,
  ThreadWriter,
  collect,
  rebuild,
  suiteSerializer,
  uniqueThreadId,
  type ConformanceOptions,
  type StepOptions,
} from "./harness.js";
export { sampleValues } from "./sample-values.js";
/**
 * The main entry's types that the kit's functions take and return,
 * re-exported so that this entry's API names every type it uses.
 */
export type {
  ChainInfo,
  ChannelValues,
  ChannelVersions,
  ChannelWrite,
  Checkpoint,
  CheckpointAddress,
  Checkpointer,
  CheckpointerOptions,
  CheckpointHeader,
  CheckpointMetadata,
  ClaimedRun,
  ClaimOptions,
  ClassRegistration,
  CreateRunRequest,
  CustomType,
  Delta,
  EncodedCheckpoint,
  EncodedPendingWrite,
  ErrorData,
  Fence,
  GetOptions,
  HeartbeatResult,
  JsonValue,
  ListOptions,
  ListRunsOptions,
  ListThreadsOptions,
  LoadedCheckpoint,
  MultitaskStrategy,
  NewCheckpoint,
  PendingWrite,
  PlannedTask,
  PruneOptions,
  PruneResult,
  PruneRunsOptions,
  PutPendingWritesOptions,
  PutRequest,
  RunControl,
  RunOutcome,
  RunRecord,
  RunStatus,
  RunStore,
  RunWatch,
  SerializedError,
  SerializedValue,
  Serializer,
  SerializerPlugin,
  SnapshotPolicy,
  ThreadExport,
  ThreadPage,
  ThreadStatus,
  ThreadSummary,
} from "../src/index.js";
