import type { Cluster, Redis } from "ioredis";
import type { CheckpointerOptions, CorruptRecordError } from "@waypoint/checkpoint";

/**
 * Settings of a RedisCheckpointer: those of every backend, plus where to
 * connect (a connection or a URL), the key prefix, retries and timeouts,
 * thread expiry, and the run queue's redelivery.
 */
export interface RedisCheckpointerOptions extends CheckpointerOptions {
  /** A connection (or cluster) to borrow; left open on close. */
  readonly redis?: Redis | Cluster;
  /** Or a URL to open one (owned, closed on close). */
  readonly url?: string;
  /**
   * Key prefix (default "waypoint"); without `{` or `}`, which would move the
   * hash tag.
   */
  readonly prefix?: string;
  /** Tries of a command that failed with a dropped connection, LOADING or READONLY (default 8). */
  readonly attempts?: number;
  /**
   * An operation that cannot reach Redis (down, frozen, unreachable) fails
   * with STORAGE_UNAVAILABLE after at most about this long (default 8000):
   * retries stop, and a command still without a reply is given up. The
   * thread stays as the last write that returned left it, and resumes once
   * Redis is back. A write given up may still be applied later by Redis; a
   * resume reads the head and goes on from it.
   */
  readonly timeoutMs?: number;
  /**
   * Expire each thread this long after its last write (or after its first,
   * with `refreshTtlOnWrite: false`), every key of it at once, with Redis's
   * own expiry. Off by default.
   */
  readonly ttlSeconds?: number;
  /** Move a thread's expiry on every write (default true). */
  readonly refreshTtlOnWrite?: boolean;
  /**
   * For an owned connection: a command with no reply after this long fails and
   * is retried like a dropped connection, within `timeoutMs` (default 2000).
   */
  readonly commandTimeoutMs?: number;
  /**
   * Told of each thread that `listThreads` cannot list as it is stored (a
   * damaged head), or lists as `failed` because a pending write of its head
   * is damaged; the listing goes on with the other threads. Reading such a
   * thread fails with CORRUPT_RECORD. Default: a process warning.
   */
  readonly onCorrupt?: (error: CorruptRecordError) => void;
  /**
   * Run queue: a queue entry that a worker read but neither settled nor
   * rescheduled (it died in between) is delivered to another worker after
   * this long (XAUTOCLAIM's min idle time; default 15000). Also how often a
   * run waiting behind another run of its thread, or paused, is looked at
   * again. Keep it above the workers' heartbeat interval.
   */
  readonly redeliverMs?: number;
}
