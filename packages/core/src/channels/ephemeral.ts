import type { ChannelSpec } from "./channel.js";
import { LastValueChannel } from "./last-value.js";

/**
 * A value that lives for one superstep: written in step N, readable in step
 * N+1, and gone after the next commit unless written again. For signals such
 * as "the input for this turn" that must not leak into later steps. Typed
 * `T | undefined`: it reads undefined in every step it was not written in.
 */
export function ephemeral<T>(): ChannelSpec<T | undefined, T> {
  return {
    kind: "ephemeral",
    persisted: true,
    create: () => new EphemeralChannel<T>(),
  };
}

/** A last value (one write per superstep) that an empty commit clears. */
class EphemeralChannel<T> extends LastValueChannel<T> {
  constructor() {
    super(undefined);
  }

  override update(writes: readonly T[]): boolean {
    if (writes.length > 0) return super.update(writes);
    // The commit after the one that wrote it: the value has been seen, drop it.
    if (!this.isAvailable()) return false;
    this.reset();
    return true;
  }
}
