import type { ChannelSpec } from "./channels/channel.js";
import { GraphValidationError } from "./errors.js";

/** A graph's state: one channel per key. */
export type StateDefinition = Readonly<Record<string, ChannelSpec>>;

/** What nodes read: each key's value. */
export type StateOf<D extends StateDefinition> = {
  [K in keyof D]: D[K] extends ChannelSpec<infer Value, unknown> ? Value : never;
};

/** What nodes return: some of the keys, each with its channel's update type. */
export type UpdateOf<D extends StateDefinition> = {
  [K in keyof D]?: D[K] extends ChannelSpec<unknown, infer Update> ? Update : never;
};

/**
 * Declares a graph's state. The keys' TypeScript types are inferred from
 * their channels:
 *
 * ```ts
 * const State = defineState({ topic: lastValue<string>(), notes: topic<string>() });
 * ```
 */
export function defineState<D extends StateDefinition>(definition: D): D {
  for (const key of Object.keys(definition)) {
    if (key.startsWith("__") || key.includes(":")) {
      throw new GraphValidationError(
        `state key "${key}" is reserved (keys may not start with "__" or contain ":")`,
        {
          key,
        },
      );
    }
  }
  return definition;
}
