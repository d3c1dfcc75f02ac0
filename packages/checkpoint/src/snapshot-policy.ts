import type { ChainInfo } from "./checkpoint.js";

/**
 * When a checkpoint stores a full snapshot instead of only its delta.
 *
 * A load reads the base snapshot and every delta since. Writes that add to
 * their channel (a reducer's or a topic's: `PutRequest.accumulating`) are
 * part of the state a load rebuilds, so reading them is what reading a
 * snapshot would cost: they never make a snapshot due, and a growing thread
 * (a conversation, a log) writes each value once instead of again in every
 * snapshot. Writes that replace a value are wasted on a load once replaced:
 * a snapshot is due when they outgrow `factor` times the state (or
 * `minBytes`, for small states), which keeps the bytes read by a load within
 * (1 + factor) times the state. `maxChain` bounds the deltas a load replays.
 */
export interface SnapshotPolicy {
  readonly factor: number;
  readonly minBytes: number;
  readonly maxChain: number;
}

/** The policy a checkpointer uses for any setting its `snapshots` option leaves out. */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = {
  factor: 2,
  minBytes: 8 * 1024,
  maxChain: 4096,
};

/**
 * A full policy from a checkpointer's `snapshots` option: the overrides on top of
 * DEFAULT_SNAPSHOT_POLICY.
 */
export function resolveSnapshotPolicy(overrides: Partial<SnapshotPolicy> = {}): SnapshotPolicy {
  return { ...DEFAULT_SNAPSHOT_POLICY, ...overrides };
}

/** A delta's serialized size, split by what its writes do to the state. */
export interface DeltaBytes {
  /** Writes that replace their channel's value. */
  readonly replacing: number;
  /** Writes that add to it (accumulating channels). */
  readonly adding: number;
}

/** Whether a checkpoint that follows `parent` and writes `delta` is due a snapshot. */
export function isSnapshotDue(
  policy: SnapshotPolicy,
  parent: ChainInfo | null,
  delta: DeltaBytes,
): boolean {
  if (parent === null) return true;
  if (parent.length + 1 >= policy.maxChain) return true;
  const budget = Math.max(policy.minBytes, policy.factor * (parent.snapshotBytes + delta.adding));
  return parent.deltaBytes + delta.replacing > budget;
}
