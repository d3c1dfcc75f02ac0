import type { Channel, ChannelSpec } from "./channel.js";
import { validateWith } from "./standard-schema.js";
import type { StandardSchemaV1 } from "./standard-schema.js";

/** Options of `reducer`: a schema for each write before it is folded in. */
export interface ReducerOptions<U> {
  /** Validates each write before it reaches the reducer. */
  readonly schema?: StandardSchemaV1<unknown, U>;
}

/**
 * A key that folds every write into its value with `fn`, in plan order, so
 * parallel nodes can all contribute (`(list, item) => [...list, item]`).
 * `fn` must return a new value rather than change `current`: replay and
 * snapshots rely on earlier values staying as they were.
 */
export function reducer<T, U = T>(
  fn: (current: T, update: U) => T,
  initial: () => T,
  options: ReducerOptions<U> = {},
): ChannelSpec<T, U> {
  const { schema } = options;
  return {
    kind: "reducer",
    persisted: true,
    ...(schema === undefined
      ? {}
      : { validate: (update: unknown) => validateWith(schema, update) }),
    create: () => new ReducerChannel(fn, initial),
  };
}

class ReducerChannel<T, U> implements Channel<T, U> {
  readonly #fn: (current: T, update: U) => T;
  readonly #initial: () => T;
  #value: T;

  constructor(fn: (current: T, update: U) => T, initial: () => T) {
    this.#fn = fn;
    this.#initial = initial;
    this.#value = initial();
  }

  update(writes: readonly U[]): boolean {
    // Fold into a local first, so a throwing `fn` leaves the channel unchanged.
    let value = this.#value;
    for (const write of writes) value = this.#fn(value, write);
    this.#value = value;
    return writes.length > 0;
  }

  isAvailable(): boolean {
    return true;
  }

  get(): T {
    return this.#value;
  }

  checkpoint(): unknown {
    return this.#value;
  }

  restore(data: unknown): void {
    if (data === undefined) {
      this.#value = this.#initial();
      return;
    }
    // A stored value of another shape than the initial one (a string where
    // the key holds a list) is damage: folding into it would spread a string
    // into characters or fail far from the cause.
    const expected = shapeOf(this.#initial());
    const found = shapeOf(data);
    if (expected !== "other" && found !== expected)
      throw new Error(`expected a snapshot of the reducer's shape (${expected}), got ${found}`);
    this.#value = data as T;
  }
}

/** The coarse shape of a value, as far as a snapshot can be checked against the initial value. */
function shapeOf(value: unknown): "list" | "record" | "string" | "number" | "boolean" | "other" {
  if (Array.isArray(value)) return "list";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return typeof value as "string" | "number" | "boolean";
  if (
    typeof value === "object" &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype
  )
    return "record";
  return "other";
}
