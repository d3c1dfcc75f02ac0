/**
 * Group commit of puts in the client ("natural batching"), on a standalone
 * Redis. A put that finds a free slot goes at once, alone: an idle
 * checkpointer adds no latency. Puts that arrive while every slot is taken
 * wait, and leave together, as one script call, when a slot frees up or as
 * soon as `flushAt` of them wait (so that Redis works on one batch while Node
 * gathers the next: with one call on the wire at a time, the two took turns
 * and bench (c) was slower than without batches).
 *
 * The same queue as `GroupCommit` in `@waypoint/checkpoint/backend` (which
 * PostgreSQL uses), duplicated here with `flushAt` added; folding `flushAt`
 * into the shared one would let this file go.
 */

export interface GroupCommitOptions {
  /** Most puts in one script call (default 64). */
  readonly maxBatch: number;
  /** Most script calls of puts on the wire before puts wait (default 1). */
  readonly maxInFlight: number;
  /** A batch leaves at once when this many puts wait, whatever is on the wire (default 8). */
  readonly flushAt: number;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = {
  maxBatch: 64,
  maxInFlight: 1,
  flushAt: 8,
};

interface Waiting<Item, Result> {
  readonly key: string;
  readonly item: Item;
  readonly resolve: (result: Promise<Result>) => void;
}

export interface GroupCommitSender<Item, Result> {
  /** Sends one put; settles with its outcome. */
  one(item: Item): Promise<Result>;
  /**
   * Sends several puts as one call. Settles once that round trip is over,
   * with each put's outcome (which may still need commands of its own).
   */
  many(items: readonly Item[]): Promise<Promise<Result>[]>;
}

export class GroupCommit<Item, Result> {
  private readonly waiting: Waiting<Item, Result>[] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly options: GroupCommitOptions,
    private readonly send: GroupCommitSender<Item, Result>,
  ) {}

  /** Writes `item`; two puts with the same `key` (a thread) never share a call. */
  submit(key: string, item: Item): Promise<Result> {
    if (this.inFlight < this.options.maxInFlight && this.waiting.length === 0) {
      this.inFlight += 1;
      const result = this.send.one(item);
      result.then(this.done, this.done);
      return result;
    }
    const result = new Promise<Result>((resolve) => this.waiting.push({ key, item, resolve }));
    if (this.waiting.length >= this.options.flushAt) this.flush();
    return result;
  }

  /** Resolves once nothing waits and nothing is on the wire. */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private readonly done = (): void => {
    this.inFlight -= 1;
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) this.flush();
    if (this.inFlight > 0 || this.waiting.length > 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  };

  /** Sends the oldest waiting puts, at most one per key, as one call. */
  private flush(): void {
    const batch: Waiting<Item, Result>[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.waiting.length && batch.length < this.options.maxBatch;) {
      const entry = this.waiting[i]!;
      if (keys.has(entry.key)) {
        i += 1;
        continue;
      }
      keys.add(entry.key);
      batch.push(entry);
      this.waiting.splice(i, 1);
    }
    this.inFlight += 1;
    if (batch.length === 1) {
      const only = batch[0]!;
      const result = this.send.one(only.item);
      result.then(this.done, this.done);
      only.resolve(result);
      return;
    }
    const sent = this.send.many(batch.map((entry) => entry.item));
    sent.then(this.done, this.done);
    batch.forEach((entry, i) => entry.resolve(sent.then((results) => results[i]!)));
  }
}
