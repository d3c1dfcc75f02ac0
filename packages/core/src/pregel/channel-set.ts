import {
  CorruptRecordError,
  type ChannelValues,
  type ChannelWrite,
  type LoadedCheckpoint,
} from "@waypoint/checkpoint";
import { MultipleWritesError, type Channel, type ChannelSpec } from "../channels/channel.js";
import { InvalidUpdateError } from "../errors.js";
import { planReplay, replaySpans } from "./append-marks.js";

/** What `update` gets for a channel nobody wrote to: one shared list, never changed. */
const NO_WRITES: readonly never[] = Object.freeze([]);

/**
 * The live channels of one run. The same `apply` turns a superstep's writes
 * into new channel state both when the superstep runs and when a stored
 * thread is rebuilt from its snapshot and deltas.
 */
export class ChannelSet {
  readonly channels = new Map<string, Channel>();

  constructor(
    private readonly specs: ReadonlyMap<string, ChannelSpec>,
    private readonly stateKeys: readonly string[],
  ) {
    for (const [name, spec] of specs) this.channels.set(name, spec.create());
  }

  /**
   * Rebuilds the channels of a stored checkpoint: its base snapshot, then
   * each delta. With `skipUnknown`, writes to channels this graph does not
   * have are left out (a thread written by another shape of the graph, shown
   * or migrated); without, they are an error.
   */
  static fromLoaded(
    specs: ReadonlyMap<string, ChannelSpec>,
    stateKeys: readonly string[],
    loaded: LoadedCheckpoint | undefined,
    options: { readonly skipUnknown?: boolean } = {},
  ): ChannelSet {
    const set = new ChannelSet(specs, stateKeys);
    if (loaded === undefined) return set;
    for (const [name, data] of Object.entries(loaded.base.values)) {
      try {
        set.channels.get(name)?.restore(data);
      } catch (error) {
        const { threadId, namespace, id } = loaded.checkpoint;
        throw new CorruptRecordError(
          `thread "${threadId}"${namespace === "" ? "" : ` namespace "${namespace}"`}, snapshot of checkpoint ${loaded.base.checkpointId} (loading ${id}), channel "${name}"`,
          error instanceof Error ? error.message : String(error),
          error,
        );
      }
    }
    const { deltas, spans } = planReplay(loaded.deltas);
    const apply = (writes: readonly ChannelWrite[]) => {
      set.apply(
        options.skipUnknown === true ? writes.filter((write) => specs.has(write.channel)) : writes,
      );
    };
    if (spans === undefined) {
      for (const delta of deltas) apply(delta.writes);
    } else {
      const reducerOf = (key: string) =>
        specs.get(key)?.kind === "reducer" ? set.channels.get(key) : undefined;
      replaySpans(deltas, spans, reducerOf, apply);
    }
    return set;
  }

  /**
   * Applies one superstep's writes, in order, calling `update` on every
   * channel (with no writes for those nobody wrote to). Returns the names of
   * the channels that changed. `nodeOf` names the node behind a task id, for errors.
   */
  apply(
    writes: readonly ChannelWrite[],
    nodeOf: (taskId: string) => string = (id) => id,
  ): string[] {
    // The written values by channel, in order; nothing is allocated for the others.
    const grouped = new Map<string, unknown[]>();
    for (const write of writes) {
      if (!this.channels.has(write.channel)) {
        throw new InvalidUpdateError(
          write.channel,
          [nodeOf(write.taskId)],
          "there is no such state key",
        );
      }
      const values = grouped.get(write.channel);
      if (values === undefined) grouped.set(write.channel, [write.value]);
      else values.push(write.value);
    }
    const changed: string[] = [];
    for (const [name, channel] of this.channels) {
      try {
        if (channel.update(grouped.get(name) ?? NO_WRITES)) changed.push(name);
      } catch (error) {
        const nodes = [
          ...new Set(writes.filter((w) => w.channel === name).map((w) => nodeOf(w.taskId))),
        ];
        if (error instanceof MultipleWritesError) {
          throw new InvalidUpdateError(
            name,
            nodes,
            `${error.count} writes in one superstep, but it keeps one value; give it a reducer to combine parallel writes`,
          );
        }
        throw new InvalidUpdateError(
          name,
          nodes,
          error instanceof Error ? error.message : String(error),
        );
      }
    }
    return changed;
  }

  /** Every persisted channel's state, for a snapshot. */
  snapshot(): ChannelValues {
    const values: Record<string, unknown> = {};
    for (const [name, channel] of this.channels) {
      if (!this.specs.get(name)!.persisted) continue;
      const data = channel.checkpoint();
      if (data !== undefined) values[name] = data;
    }
    return values;
  }

  /** The state as nodes see it: each state key's value, undefined when empty. */
  values(): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const key of this.stateKeys) {
      const channel = this.channels.get(key)!;
      values[key] = channel.isAvailable() ? channel.get() : undefined;
    }
    return values;
  }

  /**
   * The state as one task sees it after its own writes, leaving this set
   * untouched: what a conditional edge's router reads.
   */
  valuesWith(writes: readonly ChannelWrite[]): Record<string, unknown> {
    const values = this.values();
    const grouped = new Map<string, unknown[]>();
    for (const write of writes) {
      if (!this.stateKeys.includes(write.channel)) continue;
      grouped.set(write.channel, [...(grouped.get(write.channel) ?? []), write.value]);
    }
    for (const [name, updates] of grouped) {
      const copy = this.specs.get(name)!.create();
      copy.restore(this.channels.get(name)!.checkpoint());
      copy.update(updates);
      values[name] = copy.isAvailable() ? copy.get() : undefined;
    }
    return values;
  }
}
