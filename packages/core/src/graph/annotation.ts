import type { ChannelSpec } from "../channels/channel.js";
import { lastValue } from "../channels/last-value.js";
import { reducer } from "../channels/reducer.js";
import { defineState, type StateDefinition, type StateOf, type UpdateOf } from "../state.js";

/** The options of `Annotation<T>({ reducer, default })`: a key whose writes combine through `reducer`. */
export interface AnnotationOptions<T, U> {
  /** Combines the key's current value with one write; must be pure (it runs again on replay). */
  readonly reducer: (current: T, update: U) => T;
  /** The value before any write; without it the reducer first sees undefined. */
  readonly default?: () => T;
}

/** A key in a LangGraph-style definition: a channel, or `Annotation<T>` itself, uncalled. */
export type AnnotationEntry = ChannelSpec | (() => ChannelSpec);

/** The state definition `Annotation.Root` makes of its entries. */
export type DefinitionOf<E extends Readonly<Record<string, AnnotationEntry>>> = {
  readonly [K in keyof E]: E[K] extends ChannelSpec
    ? E[K]
    : E[K] extends () => ChannelSpec<infer V, infer U>
      ? ChannelSpec<V, U>
      : never;
};

/** What `Annotation.Root` returns: the state definition (`spec`) and its types (`State`, `Update`). */
export class AnnotationRoot<D extends StateDefinition> {
  /** Type only (`typeof Root.State`), as in LangGraph. */
  declare readonly State: StateOf<D>;
  /** Type only (`typeof Root.Update`). */
  declare readonly Update: UpdateOf<D>;
  readonly spec: D;
  constructor(spec: D) {
    this.spec = defineState(spec);
  }
}

/** The type of `Annotation`: a channel from options (or, uncalled, a last value), and `Annotation.Root`. */
export interface AnnotationFunction {
  <T, U = T>(options: AnnotationOptions<T, U>): ChannelSpec<T, U>;
  <T>(): ChannelSpec<T | undefined, T>;
  /** A state definition from LangGraph-style entries. */
  Root<E extends Readonly<Record<string, AnnotationEntry>>>(
    entries: E,
  ): AnnotationRoot<DefinitionOf<E>>;
}

// The zero-argument form last: a bare `Annotation<T>` in `Annotation.Root` is typed from it.
function annotation<T, U = T>(options: AnnotationOptions<T, U>): ChannelSpec<T, U>;
function annotation<T>(): ChannelSpec<T | undefined, T>;
function annotation<T, U = T>(options?: AnnotationOptions<T, U>): ChannelSpec {
  if (options === undefined) return lastValue<T>();
  // Without a default the value starts undefined, and the reducer sees undefined first, as in LangGraph.
  return reducer(options.reducer, options.default ?? (() => undefined as T));
}

function root<E extends Readonly<Record<string, AnnotationEntry>>>(
  entries: E,
): AnnotationRoot<DefinitionOf<E>> {
  const spec = Object.fromEntries(
    Object.entries(entries).map(([key, entry]) => [
      key,
      entry === (Annotation as unknown) ? lastValue() : entry,
    ]),
  );
  return new AnnotationRoot(spec as DefinitionOf<E>);
}

/**
 * LangGraph's `Annotation` and `Annotation.Root`, as a thin layer over
 * `defineState`, so that a LangGraph state definition compiles unchanged:
 *
 * ```ts
 * const State = Annotation.Root({
 *   topic: Annotation<string>,                       // or Annotation<string>(): lastValue
 *   notes: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
 * });
 * new StateGraph(State); // (state: typeof State.State) => …
 * ```
 */
export const Annotation: AnnotationFunction = Object.assign(annotation, {
  Root: root,
});
