import { EmptyChannelError } from "./channel.js";
import type { Channel, ChannelSpec } from "./channel.js";

/**
 * The runtime's own edge channel: writing to it (with any value, any number
 * of times) schedules the node behind it for the next superstep. It stays set
 * for one superstep, like `ephemeral`, but never conflicts.
 */
export function trigger(options: { sticky?: boolean } = {}): ChannelSpec<true, unknown> {
  const sticky = options.sticky === true;
  return {
    kind: "trigger",
    persisted: true,
    create: () => new TriggerChannel(sticky),
  };
}

/**
 * `sticky`: the trigger of a deferred node stays set while the node waits
 * for the other tasks to finish; the planner runs it once per new version.
 */
class TriggerChannel implements Channel<true, unknown> {
  #set = false;

  constructor(private readonly sticky: boolean) {}

  update(writes: readonly unknown[]): boolean {
    if (writes.length > 0) {
      // Changed even if already set: a new version is what schedules the node again.
      this.#set = true;
      return true;
    }
    if (!this.#set || this.sticky) return false;
    this.#set = false;
    return true;
  }

  isAvailable(): boolean {
    return this.#set;
  }

  get(): true {
    if (!this.#set) throw new EmptyChannelError();
    return true;
  }

  checkpoint(): unknown {
    return this.#set ? true : undefined;
  }

  restore(data: unknown): void {
    if (data !== undefined && data !== true) {
      throw new Error(`a trigger snapshot must be true or undefined, got ${JSON.stringify(data)}`);
    }
    this.#set = data === true;
  }
}
