import type { Channel, ChannelSpec } from "./channel.js";

/** Options of `topic`: whether its list lasts across supersteps. */
export interface TopicOptions {
  /**
   * True (the default): values pile up across supersteps. False: each
   * superstep starts from an empty list, so readers see only the last
   * superstep's values.
   */
  readonly accumulate?: boolean;
}

/**
 * A key that collects values into a list, for messages or events that many
 * nodes publish. A write may be one value or an array of values, which is
 * spread in; so a topic whose items are themselves arrays must wrap each one
 * (`[item]`).
 */
export function topic<T>(options: TopicOptions = {}): ChannelSpec<T[], T | T[]> {
  const accumulate = options.accumulate ?? true;
  return {
    kind: "topic",
    persisted: true,
    create: () => new TopicChannel<T>(accumulate),
  };
}

class TopicChannel<T> implements Channel<T[], T | T[]> {
  readonly #accumulate: boolean;
  // Replaced, never mutated: a list handed out by `get` stays as it was.
  #values: readonly T[] = [];

  constructor(accumulate: boolean) {
    this.#accumulate = accumulate;
  }

  update(writes: readonly (T | T[])[]): boolean {
    let changed = false;
    let values = this.#values;
    if (!this.#accumulate && values.length > 0) {
      values = [];
      changed = true;
    }
    const added = writes.flatMap((write) => (Array.isArray(write) ? write : [write]));
    if (added.length > 0) {
      values = [...values, ...added];
      changed = true;
    }
    this.#values = values;
    return changed;
  }

  /** Available only when the list has items, so an empty topic triggers nobody. */
  isAvailable(): boolean {
    return this.#values.length > 0;
  }

  /** Unlike other channels, returns [] when empty instead of throwing: "no messages" is a value. */
  get(): T[] {
    return [...this.#values];
  }

  checkpoint(): unknown {
    return this.#values.length > 0 ? [...this.#values] : undefined;
  }

  restore(data: unknown): void {
    if (data === undefined) {
      this.#values = [];
      return;
    }
    if (!Array.isArray(data)) {
      throw new Error(`a topic snapshot must be an array, got ${typeof data}`);
    }
    this.#values = [...(data as T[])];
  }
}
