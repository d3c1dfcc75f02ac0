import type { CheckpointHeader } from "@waypoint/checkpoint";
import type { HeldChannel } from "./channel-codec.js";

/** A checkpoint this process wrote or read, with its channels in stored form. */
export interface HeldCheckpoint {
  readonly header: CheckpointHeader;
  readonly state: ReadonlyMap<string, HeldChannel>;
}

/**
 * The last checkpoint of each thread and namespace this process saw. A put
 * finds its parent here (its chain for Waypoint, its lists to tell an
 * append), so a running graph reads nothing back between supersteps.
 */
export class HeadCache {
  private readonly entries = new Map<string, HeldCheckpoint>();

  constructor(private readonly capacity: number) {}

  get(threadId: string, namespace: string, checkpointId: string): HeldCheckpoint | undefined {
    const key = keyOf(threadId, namespace);
    const held = this.entries.get(key);
    if (held === undefined || held.header.id !== checkpointId) return undefined;
    this.entries.delete(key);
    this.entries.set(key, held);
    return held;
  }

  set(held: HeldCheckpoint): void {
    const key = keyOf(held.header.threadId, held.header.namespace);
    this.entries.delete(key);
    this.entries.set(key, held);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  forgetThread(threadId: string): void {
    for (const [key, held] of this.entries) {
      if (held.header.threadId === threadId) this.entries.delete(key);
    }
  }
}

function keyOf(threadId: string, namespace: string): string {
  return `${threadId}\u0000${namespace}`;
}
