/**
 * Group commit in the client ("natural batching"), for backends whose
 * store can take several writes in one statement or script. A write that finds a free
 * slot goes out at once, alone: an idle checkpointer adds no latency. Writes
 * that arrive while every slot is taken wait, and leave together, as one
 * statement, when a slot frees up. How many wait decides the batch size, so
 * batches grow only as fast as the load does.
 */

export interface GroupCommitOptions {
  /** Most writes sent in one statement (default 64). */
  readonly maxBatch: number;
  /**
   * Most statements of writes on the wire at once, alone or batched
   * (default 1: what arrives while one is out leaves with the next, as
   * PostgreSQL's own WAL flush does; measured best in bench (c)).
   */
  readonly maxInFlight: number;
}

/** 64 writes per statement, one statement in flight. */
export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxBatch: 64, maxInFlight: 1 };

interface Waiting<Item, Result> {
  readonly key: string;
  readonly item: Item;
  readonly resolve: (result: Promise<Result>) => void;
}

/** How a GroupCommit sends writes: one alone, or several as one statement. */
export interface GroupCommitSender<Item, Result> {
  /** Sends one write; settles with its outcome. */
  one(item: Item): Promise<Result>;
  /**
   * Sends several writes as one statement. Settles once that round trip is
   * over, with each write's outcome (which may still need a query of its own).
   */
  many(items: readonly Item[]): Promise<Promise<Result>[]>;
}

/**
 * Group commit for a backend's writes: a write goes out at once while fewer
 * than `maxInFlight` statements are on the wire; writes that arrive meanwhile
 * wait, and leave together as one statement (at most `maxBatch`) when one is done.
 */
export class GroupCommit<Item, Result> {
  private readonly waiting: Waiting<Item, Result>[] = [];
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(
    private readonly options: GroupCommitOptions,
    private readonly send: GroupCommitSender<Item, Result>,
  ) {}

  /** Writes `item`; two writes with the same `key` (a thread) never share a batch. */
  submit(key: string, item: Item): Promise<Result> {
    if (this.inFlight < this.options.maxInFlight && this.waiting.length === 0) {
      this.inFlight += 1;
      const result = this.send.one(item);
      result.then(this.done, this.done);
      return result;
    }
    return new Promise<Result>((resolve) => this.waiting.push({ key, item, resolve }));
  }

  /** Resolves once nothing waits and nothing is on the wire. */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.idle;
      this.idle = () => {
        previous?.();
        resolve();
      };
    });
  }

  private readonly done = (): void => {
    this.inFlight -= 1;
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) this.flush();
    if (this.inFlight === 0 && this.waiting.length === 0 && this.idle !== undefined) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  };

  /** Sends the oldest waiting writes, at most one per key, as one statement. */
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
