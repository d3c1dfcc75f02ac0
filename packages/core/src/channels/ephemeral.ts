import { EmptyChannelError, MultipleWritesError } from "./channel.js";
import type { Channel, ChannelSpec } from "./channel.js";

/**
 * A value that lives for one superstep: written in step N, readable in step
 * N+1, and gone after the next commit unless written again. For signals such
 * as "the input for this turn" that must not leak into later steps.
 */
export function ephemeral<T>(): ChannelSpec<T, T> {
  return {
    kind: "ephemeral",
    persisted: true,
    create: () => new EphemeralChannel<T>(),
  };
}

class EphemeralChannel<T> implements Channel<T, T> {
  #available = false;
  #value: T | undefined;

  update(writes: readonly T[]): boolean {
    if (writes.length > 1) throw new MultipleWritesError(writes.length);
    if (writes.length === 0) {
      // The commit after the one that wrote it: the value has been seen, drop it.
      if (!this.#available) return false;
      this.#clear();
      return true;
    }
    this.#value = writes[0];
    this.#available = true;
    return true;
  }

  isAvailable(): boolean {
    return this.#available;
  }

  get(): T {
    if (!this.#available) throw new EmptyChannelError();
    return this.#value as T;
  }

  checkpoint(): unknown {
    return this.#available ? this.#value : undefined;
  }

  restore(data: unknown): void {
    if (data === undefined) {
      this.#clear();
      return;
    }
    this.#value = data as T;
    this.#available = true;
  }

  #clear(): void {
    this.#value = undefined;
    this.#available = false;
  }
}
