import type { ChainInfo } from "./checkpoint.js";

/**
 * When a checkpoint stores a full snapshot instead of only its delta.
 *
 * A snapshot is written when the deltas since the last one outgrow
 * `factor` times its size (or `minBytes`, for small states), or when the
 * chain reaches `maxChain` checkpoints. With factor k, a growing state writes
 * about (1 + 1/k) times its final size in snapshots, and a reload reads at
 * most the base snapshot plus k times its size in deltas. The default k = 2
 * keeps both close to the state's own size.
 */
export interface SnapshotPolicy {
  readonly factor: number;
  readonly minBytes: number;
  readonly maxChain: number;
}

export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = {
  factor: 2,
  minBytes: 8 * 1024,
  maxChain: 100,
};

export function resolveSnapshotPolicy(overrides: Partial<SnapshotPolicy> = {}): SnapshotPolicy {
  return { ...DEFAULT_SNAPSHOT_POLICY, ...overrides };
}

/** Whether a checkpoint that follows `parent` and writes `deltaBytes` is due a snapshot. */
export function isSnapshotDue(
  policy: SnapshotPolicy,
  parent: ChainInfo | null,
  deltaBytes: number,
): boolean {
  if (parent === null) return true;
  if (parent.length + 1 >= policy.maxChain) return true;
  const budget = Math.max(policy.minBytes, policy.factor * parent.snapshotBytes);
  return parent.deltaBytes + deltaBytes > budget;
}
