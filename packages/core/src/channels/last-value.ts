import { EmptyChannelError, MultipleWritesError } from "./channel.js";
import type { Channel, ChannelSpec } from "./channel.js";
import { validateWith } from "./standard-schema.js";
import type { StandardSchemaV1 } from "./standard-schema.js";

/** Options of `lastValue`: a default and a schema for its writes. */
export interface LastValueOptions<T> {
  /** Makes the channel available from the start (and after restoring an empty snapshot). */
  readonly default?: () => T;
  /** Validates each write before it reaches the channel. */
  readonly schema?: StandardSchemaV1<unknown, T>;
}

/**
 * A key that holds the last value written to it. Two writes in one superstep
 * are a conflict (their order is an accident of scheduling), so they throw
 * MultipleWritesError instead of silently picking one.
 */
export function lastValue<T>(
  options: LastValueOptions<T> & { readonly default: () => T },
): ChannelSpec<T, T>;
/** Without a default the key reads undefined until a node writes it, and is typed so. */
export function lastValue<T>(options?: LastValueOptions<T>): ChannelSpec<T | undefined, T>;
export function lastValue<T>(options: LastValueOptions<T> = {}): ChannelSpec<T | undefined, T> {
  const { default: makeDefault, schema } = options;
  return {
    kind: "lastValue",
    persisted: true,
    ...(schema === undefined
      ? {}
      : { validate: (update: unknown) => validateWith(schema, update) }),
    create: () => new LastValueChannel(makeDefault),
  };
}

/** Shared with `untracked`, which differs only in what it checkpoints. */
export class LastValueChannel<T> implements Channel<T, T> {
  // A flag rather than `value !== undefined`, so that undefined can be a written value.
  #available = false;
  #value: T | undefined;
  readonly #makeDefault: (() => T) | undefined;

  constructor(makeDefault: (() => T) | undefined) {
    this.#makeDefault = makeDefault;
    this.reset();
  }

  update(writes: readonly T[]): boolean {
    if (writes.length === 0) return false;
    if (writes.length > 1) throw new MultipleWritesError(writes.length);
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
      this.reset();
      return;
    }
    this.#value = data as T;
    this.#available = true;
  }

  protected reset(): void {
    if (this.#makeDefault === undefined) {
      this.#value = undefined;
      this.#available = false;
    } else {
      this.#value = this.#makeDefault();
      this.#available = true;
    }
  }
}
