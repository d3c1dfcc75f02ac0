import type { RunWatch } from "../runs.js";

/**
 * Starts listening for wake-ups on a connection of the store's own (a LISTEN,
 * a blocking read) and calls `wake` for each; returns how to stop, which
 * never rejects. Call `wake` again once listening (again) too: a run created
 * while nobody listened is otherwise found only by the next poll.
 */
export type WakeSource = (wake: () => void) => () => Promise<void>;

/**
 * The watches of one run store (`RunStore.watch`) and what wakes them:
 * `notify()` from the store itself (a change made through it) or its
 * `source` (changes made by other processes). The source runs only while a
 * watch is open: a store no worker watches holds no extra connection.
 */
export class RunWakes {
  private readonly watches = new Set<Watch>();
  private stopSource: (() => Promise<void>) | undefined;
  private stopped: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly source?: WakeSource) {}

  /**
   * A new watch for a worker (`RunStore.watch`); starts the source with the first one. Closed at
   * once if the store is closed.
   */
  watch(): RunWatch {
    const watch = new Watch(() => this.forget(watch));
    if (this.closed) {
      watch.close();
      return watch;
    }
    this.watches.add(watch);
    if (this.source !== undefined && this.stopSource === undefined) {
      this.stopSource = this.source(() => this.notify());
    }
    return watch;
  }

  /** A run may have become claimable: every watch wakes (or its next wait returns at once). */
  notify(): void {
    for (const watch of this.watches) watch.wake();
  }

  /** Closes every watch and stops the source; a watch made later is closed from the start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const watch of [...this.watches]) watch.close();
    await this.stopped;
  }

  private forget(watch: Watch): void {
    this.watches.delete(watch);
    if (this.watches.size > 0 || this.stopSource === undefined) return;
    const stop = this.stopSource;
    this.stopSource = undefined;
    this.stopped = Promise.all([this.stopped, stop()]);
  }
}

class Watch implements RunWatch {
  /** Woken while no wait was in progress: the next wait returns at once. */
  private woken = false;
  private closed = false;
  private readonly waiting = new Set<() => void>();

  constructor(private readonly onClose: () => void) {}

  wake(): void {
    if (this.waiting.size === 0) this.woken = true;
    for (const resolve of [...this.waiting]) resolve();
  }

  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      this.waiting.add(done);
    });
  }

  /** No longer woken: its waits only sleep, so that a caller polling a closed store does not spin. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.woken = false;
    for (const resolve of [...this.waiting]) resolve();
    this.onClose();
  }
}
