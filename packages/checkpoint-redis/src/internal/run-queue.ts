import type { RedisAccess } from "./run-access.js";

/** The consumer group every worker reads the queue stream with. */
const GROUP = "workers";
/**
 * A consumer (a worker's name in the group) with no pending entry, idle this many redeliverMs, is
 * deleted by a claim: workers that died leave none behind. A live one idle that long (its worker
 * full, not claiming) is made again by its next read.
 */
const TIDY_AFTER = 10;
/** An entry whose run was never created is dropped once this old: far beyond FRESH_MS, for clock skew. */
export const FORGET_MS = 10 * 60_000;

/** A change to the queue stream or the run index, applied by one wpQueue script. */
export type QueueOp =
  | readonly ["add", runId: string, threadId: string]
  | readonly ["later", entry: string, consumer: string, deliveredAt: number]
  | readonly ["ack", entry: string]
  | readonly ["forget", entry: string, indexMember: string];

/** A queue entry delivered to a worker: which run may be claimable. */
export type Entry = readonly [id: string, runId: string, threadId: string];

/**
 * The run queue's stream, read by one consumer group: an entry says "this
 * run may be claimable". It is a wake-up list, never the truth (see
 * RedisRunStore).
 */
export class RunQueue {
  /** Where this process's XAUTOCLAIM scans resume, so a long pending list is covered in turns. */
  private cursor = "0-0";
  /** When this store last had a claim tidy the group's consumers (at most once per redeliverMs). */
  private tidied = 0;

  constructor(private readonly access: RedisAccess) {}

  /** Settles entries, then delivers the next one to look at, if any. */
  async deliver(workerId: string, settle: readonly QueueOp[]): Promise<Entry | undefined> {
    const now = Date.now();
    const tidy = now - this.tidied >= this.access.redeliverMs;
    if (tidy) this.tidied = now;
    const reply = (await this.send(settle, workerId, this.cursor, tidy)) as [
      string[],
      string,
      Entry?,
    ];
    this.cursor = reply[1];
    return reply[2];
  }

  /** Settles entries; returns the ids of the entries added. */
  async apply(ops: readonly QueueOp[]): Promise<string[]> {
    return ((await this.send(ops, "", "")) as [string[]])[0];
  }

  /** XCLAIM's TIME for an entry that should be redelivered at `dueMs`. */
  deliveredAt(dueMs: number): number {
    return Math.max(1, dueMs - this.access.redeliverMs);
  }

  private send(
    ops: readonly QueueOp[],
    consumer: string,
    cursor: string,
    tidy = false,
  ): Promise<unknown> {
    const { keys, redeliverMs } = this.access;
    const args = ops.flatMap((op) => [op[0], op[1], op[2] ?? "", op[3] ?? ""]);
    // An XADD sent twice only queues a duplicate, which claims drop: safe to retry blindly.
    return this.access.run("runs.queue", () =>
      this.access.script(
        "wpQueue",
        [keys.queue(), keys.runIndex()],
        [GROUP, consumer, redeliverMs, cursor, tidy ? TIDY_AFTER * redeliverMs : "", ...args],
      ),
    );
  }
}
