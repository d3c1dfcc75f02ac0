/**
 * What a checkpoint holds. A checkpoint is written once per superstep and is
 * never changed afterwards; the state it stands for is its base snapshot plus
 * the writes (deltas) of every checkpoint from that base down to it.
 */

/** The format of stored records. Bump it, and commit fixtures, on any change. */
export const FORMAT_VERSION = 3;

/**
 * A plain JSON value: what metadata holds, so that every backend can store and filter it as itself.
 */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Free-form metadata of a checkpoint; plain JSON so that backends can filter on it. */
export type CheckpointMetadata = Readonly<Record<string, JsonValue>>;

/** Monotonic version of each channel; the planner compares them with `versionsSeen`. */
export type ChannelVersions = Readonly<Record<string, number>>;

/** The state of every channel, as each channel checkpoints itself. */
export type ChannelValues = Readonly<Record<string, unknown>>;

/** One task of the plan: what runs in the next superstep. */
export interface PlannedTask {
  /** Deterministic: derived from thread, checkpoint id, node and trigger or Send index. */
  readonly id: string;
  readonly node: string;
  /** Channels whose updates triggered the task; empty for a `Send` or a `Command` goto. */
  readonly triggers: readonly string[];
  /** Set for a task created by `Send(node, payload)`. */
  readonly send?: { readonly index: number; readonly payload: unknown };
}

/** A write a task made to a channel. A checkpoint's writes are its delta. */
export interface ChannelWrite {
  readonly taskId: string;
  readonly channel: string;
  readonly value: unknown;
}

/**
 * Where a checkpoint's state comes from: the nearest snapshot at or above it,
 * and how much delta has piled up since. Backends use it to decide when the
 * next snapshot is due without reading anything.
 */
export interface ChainInfo {
  /** Id of the checkpoint that holds the snapshot (this one, when it holds one). */
  readonly baseId: string;
  /** Checkpoints after the base, up to and including this one. */
  readonly length: number;
  /**
   * Serialized bytes of the writes since the base that replace a value (all
   * of them, in records written before accumulating writes were told apart):
   * what a load reads beyond the state itself.
   */
  readonly deltaBytes: number;
  /**
   * The state's serialized bytes, as estimated without serializing it: the
   * base snapshot's, plus the writes since that add to their channel.
   */
  readonly snapshotBytes: number;
}

/** Everything about a checkpoint except its writes: what `list` returns. */
export interface CheckpointHeader {
  readonly formatVersion: number;
  readonly threadId: string;
  /** "" for the root graph; subgraphs get their own namespace. */
  readonly namespace: string;
  /** Sortable: ids increase with creation within a thread and namespace. */
  readonly id: string;
  readonly parentId: string | null;
  readonly step: number;
  readonly createdAt: Date;
  readonly channelVersions: ChannelVersions;
  /** For each node, the channel versions it has already seen. */
  readonly versionsSeen: Readonly<Record<string, ChannelVersions>>;
  /** The plan: tasks of the next superstep. Empty when the run is finished. */
  readonly next: readonly PlannedTask[];
  readonly metadata: CheckpointMetadata;
  readonly chain: ChainInfo;
}

export interface Checkpoint extends CheckpointHeader {
  /** The writes this superstep applied, in application order. */
  readonly writes: readonly ChannelWrite[];
}

/** The writes of one checkpoint, as replayed to rebuild state. */
export interface Delta {
  readonly checkpointId: string;
  readonly step: number;
  readonly writes: readonly ChannelWrite[];
}

/** Names one checkpoint. */
export interface CheckpointAddress {
  readonly threadId: string;
  readonly namespace?: string;
  readonly checkpointId: string;
}
