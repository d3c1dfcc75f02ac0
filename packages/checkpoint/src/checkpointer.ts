import type {
  ChannelValues,
  ChannelVersions,
  ChannelWrite,
  Checkpoint,
  CheckpointAddress,
  CheckpointHeader,
  CheckpointMetadata,
  Delta,
  JsonValue,
  PlannedTask,
} from "./checkpoint.js";
import type { PendingWrite } from "./pending-writes.js";
import type { Serializer } from "./serializer.js";
import type { SnapshotPolicy } from "./snapshot-policy.js";
import type { ListThreadsOptions, ThreadPage } from "./threads.js";
import type { EncodedCheckpoint, EncodedPendingWrite } from "./record.js";
import type { Fence, RunStore } from "./runs.js";

/** A checkpoint to write. The checkpointer adds the chain, the time and the format version. */
export interface NewCheckpoint {
  readonly threadId: string;
  readonly namespace?: string;
  /** From `newCheckpointId(head)`; generated when omitted. Must sort after the head. */
  readonly id?: string;
  readonly step: number;
  readonly channelVersions: ChannelVersions;
  readonly versionsSeen: Readonly<Record<string, ChannelVersions>>;
  readonly next: readonly PlannedTask[];
  /** This superstep's writes, in the order they were applied. */
  readonly writes: readonly ChannelWrite[];
  readonly metadata?: CheckpointMetadata;
}

/**
 * What `Checkpointer.put` takes: the checkpoint, the parent it follows, the
 * head the writer expects, and the state to snapshot if one is due.
 */
export interface PutRequest {
  readonly checkpoint: NewCheckpoint;
  /**
   * The checkpoint this one follows, as returned by `put`, `get` or `list`
   * (its chain tells whether a snapshot is due). Null for a thread's first.
   * With its channelVersions and versionsSeen, unchanged since, the header
   * is stored as a delta from the parent's; without them, in full.
   */
  readonly parent:
    | (Pick<CheckpointHeader, "id" | "chain"> &
        Partial<Pick<CheckpointHeader, "channelVersions" | "versionsSeen">>)
    | null;
  /**
   * The head the writer believes the thread has. Defaults to the parent's id.
   * Set it to the current head when writing from an older parent: that is a
   * fork, and the new checkpoint becomes the head. If the head has moved, the
   * write fails with CheckpointConflictError and nothing is written.
   */
  readonly expectedHeadId?: string | null;
  /**
   * The full channel state after this checkpoint's writes. Called only when
   * a snapshot is due (always for a thread's first checkpoint and for forks).
   */
  readonly snapshot: () => ChannelValues;
  /**
   * Store a snapshot whatever the policy says: for a checkpoint whose writes
   * do not lead from its parent's state (the runtime's "exit" durability,
   * which saves only the last of several supersteps).
   */
  readonly forceSnapshot?: boolean;
  /**
   * Channels whose writes add to their value (reducers, topics) rather than
   * replace it: their deltas are part of the state a load rebuilds, so they
   * make no snapshot due (see SnapshotPolicy). Omitted, every write counts.
   */
  readonly accumulating?: ReadonlySet<string>;
  /**
   * A claimed run's lease. The backend checks it in the same atomic write as
   * the head: a stale token fails with LeaseLostError and nothing is written.
   */
  readonly fence?: Fence;
  /**
   * Pending writes the new checkpoint is born with, stored in the same atomic
   * operation as the checkpoint: both are written, or neither. The runtime uses
   * it when an edit carries unfinished tasks (their interrupts, recorded effects)
   * over to a new checkpoint.
   */
  readonly pendingWrites?: readonly PendingWrite[];
}

/** Options of `Checkpointer.putPendingWrites`: the lease of the run that writes, if any. */
export interface PutPendingWritesOptions {
  /** As in `PutRequest.fence`. */
  readonly fence?: Fence;
}

/** Options of `Checkpointer.get`: which namespace, and which checkpoint if not the head. */
export interface GetOptions {
  readonly namespace?: string;
  /** A specific checkpoint; the head when omitted. */
  readonly checkpointId?: string;
}

/** A checkpoint with everything needed to rebuild its state. */
export interface LoadedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The state at the nearest snapshot at or above the checkpoint. */
  readonly base: { readonly checkpointId: string; readonly values: ChannelValues };
  /**
   * Writes of each checkpoint after the base, oldest first, ending with the
   * checkpoint's own. Replaying them through the channels' reducers onto the
   * base gives the checkpoint's state.
   */
  readonly deltas: readonly Delta[];
  /** Pending writes saved against this checkpoint, by task id then idx. */
  readonly pendingWrites: readonly PendingWrite[];
}

/**
 * Options of `Checkpointer.list`: the namespace, a page (`before`, `limit`) and a metadata filter.
 */
export interface ListOptions {
  readonly namespace?: string;
  /** Only checkpoints created before this one (exclusive). */
  readonly before?: string;
  readonly limit?: number;
  /** Only checkpoints whose metadata has each of these top-level keys with an equal value. */
  readonly filter?: Readonly<Record<string, JsonValue>>;
}

/**
 * What `Checkpointer.prune` deletes: give `keepLast`, `olderThan`, or both;
 * a checkpoint goes only when it meets every condition given.
 */
export interface PruneOptions {
  /** One thread; every thread when omitted. */
  readonly threadId?: string;
  /** Keep the newest N checkpoints of each thread and namespace. */
  readonly keepLast?: number;
  /** Drop checkpoints created before this time. */
  readonly olderThan?: Date;
}

/** What `Checkpointer.prune` did: how many checkpoints it deleted. */
export interface PruneResult {
  readonly deleted: number;
}

/** A whole thread in the stored format: for backups and moving between backends. */
export interface ThreadExport {
  readonly format: "waypoint.thread";
  readonly formatVersion: number;
  readonly threadId: string;
  readonly checkpoints: readonly EncodedCheckpoint[];
  readonly pendingWrites: readonly EncodedPendingWrite[];
}

/** Settings every backend accepts. */
export interface CheckpointerOptions {
  readonly serializer?: Serializer;
  readonly snapshots?: Partial<SnapshotPolicy>;
}

/**
 * The storage contract. Every backend passes the same conformance suite
 * (`@waypoint/checkpoint/testing`), so that swapping one for another changes
 * one line.
 */
export interface Checkpointer {
  /**
   * The run queue kept in the same store, for workers (`@waypoint/core`'s
   * Worker). Every built-in backend has one.
   */
  readonly runs?: RunStore;

  /**
   * The serializer the store encodes values with, so that a graph compiled
   * on it can add the plug-ins its channels need (`Serializer.use`).
   */
  readonly serializer?: Serializer;

  /** Writes one checkpoint atomically, if the thread's head is still `expectedHeadId`. */
  put(request: PutRequest): Promise<CheckpointHeader>;

  /**
   * The pending writes saved against one checkpoint, in task then idx order,
   * as `get` returns them with it, without loading its chain: a thread's
   * history derives each older checkpoint's state from a newer one's load
   * and needs only these. Empty for a checkpoint that has none (or does not
   * exist). Optional: without it, callers load each checkpoint with `get`.
   */
  getPendingWrites?(address: CheckpointAddress): Promise<PendingWrite[]>;

  /** Saves writes against a checkpoint; (taskId, idx) pairs already saved are replaced. */
  putPendingWrites(
    target: CheckpointAddress,
    writes: readonly PendingWrite[],
    options?: PutPendingWritesOptions,
  ): Promise<void>;

  /**
   * The head (or one checkpoint by id) with its base snapshot, deltas and
   * pending writes. Undefined when the thread has no checkpoint yet; an
   * unknown `checkpointId` throws CheckpointNotFoundError.
   */
  get(threadId: string, options?: GetOptions): Promise<LoadedCheckpoint | undefined>;

  /** Headers, newest first. Never loads writes or snapshots. */
  list(threadId: string, options?: ListOptions): AsyncIterable<CheckpointHeader>;

  /** Threads (root namespace) with their head and status, paged by thread id. */
  listThreads(options?: ListThreadsOptions): Promise<ThreadPage>;

  /**
   * The namespaces of a thread that hold a checkpoint (the root is ""),
   * sorted by UTF-16 code unit (JavaScript's default sort); empty for a
   * thread with none. Without reading a checkpoint. Optional: callers fall
   * back to `exportThread`.
   *
   * @experimental
   */
  listNamespaces?(threadId: string): Promise<string[]>;

  /** Deletes every checkpoint and pending write of a thread. False if it had none. */
  deleteThread(threadId: string): Promise<boolean>;

  /**
   * Deletes old checkpoints, never a head, and never one that a kept
   * checkpoint needs to rebuild its state (so it may keep more than asked).
   */
  prune(options: PruneOptions): Promise<PruneResult>;

  /** Copies a thread, with its history and pending writes, to a new thread id. */
  copyThread(fromThreadId: string, toThreadId: string): Promise<void>;

  /**
   * Every checkpoint and pending write of a thread, in every namespace, as
   * stored (payloads are not decoded). ThreadNotFoundError when it has none.
   */
  exportThread(threadId: string): Promise<ThreadExport>;

  /** Validates every record first; writes nothing unless all of it is sound. */
  importThread(data: ThreadExport): Promise<void>;

  /** Releases what the checkpointer opened. Safe to call twice. */
  close(): Promise<void>;
}
