import type { SerializerPlugin } from "@waypoint/checkpoint";

/**
 * A channel holds one key of a graph's state (or one of the runtime's own
 * trigger keys) and decides how the writes of a superstep combine.
 *
 * The run loop calls `update` once per channel at every commit, with the
 * superstep's writes to that channel in plan order, or with an empty list
 * when nothing wrote to it. State is rebuilt after a restart by replaying the
 * stored writes through the same `update` calls, so `update` must be pure: the
 * same state and writes must always give the same result. It must not read
 * the clock or a random source, and it must not mutate a value it was given.
 */
export interface Channel<Value = unknown, Update = unknown> {
  /**
   * Applies one superstep's writes. Returns true when the channel changed,
   * which bumps its version and can trigger nodes that listen to it.
   * Throws MultipleWritesError when the channel takes at most one write per
   * superstep and got more.
   */
  update(writes: readonly Update[]): boolean;
  /** Whether `get` has a value to return. */
  isAvailable(): boolean;
  /** The current value; throws EmptyChannelError when not available. */
  get(): Value;
  /**
   * The channel's state as a serializable value, for snapshots; undefined when
   * empty. Untracked channels return undefined always.
   */
  checkpoint(): unknown;
  /** Replaces the channel's state with what `checkpoint` returned (undefined = empty). */
  restore(data: unknown): void;
}

/** How a state key behaves; `create` makes a fresh, empty channel for one run. */
export interface ChannelSpec<Value = unknown, Update = unknown> {
  readonly kind:
    "lastValue" | "reducer" | "topic" | "ephemeral" | "barrier" | "untracked" | "trigger";
  /** False for untracked channels: never written to a checkpoint. */
  readonly persisted: boolean;
  /**
   * Serializer plug-ins the channel's values need (a conversation's messages,
   * say): added to the store's serializer when a run opens a thread, so any
   * checkpointer holds them without options of its own.
   */
  readonly serializerPlugins?: readonly SerializerPlugin[];
  /** Validates one written value; throws to reject it (the run loop names the channel and node). */
  readonly validate?: (update: unknown) => Update;
  /** Makes a fresh, empty channel of this kind. */
  create(): Channel<Value, Update>;
  /**
   * For channels that hold a conversation: the tool calls the model asked
   * for that have no result in the value yet (shown by getState).
   */
  readonly pendingToolCalls?: (value: unknown) => readonly ToolCallRequest[];
  /** Phantom fields for type inference only; never set at run time. */
  readonly __value?: Value;
  readonly __update?: Update;
}

/** A tool call a model asked for. */
export interface ToolCallRequest {
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
}

/** A channel that takes at most one write per superstep got several. */
export class MultipleWritesError extends Error {
  constructor(readonly count: number) {
    super(`received ${count} writes in one superstep`);
  }
}

/** `get` on a channel that holds no value. */
export class EmptyChannelError extends Error {
  constructor() {
    super("the channel is empty");
  }
}
