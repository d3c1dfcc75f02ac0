import type { LoadedCheckpoint } from "@waypoint/checkpoint";
import type { ChannelKinds } from "./stored-shape.js";

/**
 * A key whose value the CLI cannot compute without the graph's code (a
 * reducer's function, or a topic, which may or may not accumulate): the
 * value at the nearest snapshot and the writes made since, oldest first.
 */
export interface UnreplayedKey {
  readonly kind: string;
  readonly base: unknown;
  readonly writes: readonly { readonly step: number; readonly value: unknown }[];
}

export interface StateView {
  /** Keys whose value is exact: no writes since the snapshot, or a kind replayed here. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly unreplayed: Readonly<Record<string, UnreplayedKey>>;
  /** Where the key list came from. */
  readonly keysFrom: "graphShape" | "stored";
}

/** The runtime's own channels: triggers, branches, joins, sends. State keys may not look like them. */
const isInternal = (key: string) => key.startsWith("__") || key.includes(":");

/**
 * Rebuilds the state of a checkpoint from its base snapshot and deltas.
 * `lastValue` and `ephemeral` keys are replayed exactly as the runtime does;
 * any other kind with writes since the snapshot is shown as base + writes.
 */
export function stateView(loaded: LoadedCheckpoint, kinds: ChannelKinds | undefined): StateView {
  const base = loaded.base.values;
  const keys =
    kinds !== undefined
      ? Object.keys(kinds)
      : [
          ...new Set([
            ...Object.keys(base),
            ...loaded.deltas.flatMap((delta) => delta.writes.map((write) => write.channel)),
          ]),
        ].filter((key) => !isInternal(key));
  const values: Record<string, unknown> = {};
  const unreplayed: Record<string, UnreplayedKey> = {};
  for (const key of keys) {
    const kind = kinds?.[key] ?? "unknown";
    if (kind === "untracked") continue;
    const writes = loaded.deltas.map((delta) => ({
      step: delta.step,
      values: delta.writes.filter((write) => write.channel === key).map((write) => write.value),
    }));
    const written = writes.some((delta) => delta.values.length > 0);
    if (!written) {
      if (key in base) values[key] = base[key];
      continue;
    }
    if (kind === "lastValue" || kind === "ephemeral") {
      let value: unknown = base[key];
      let present = key in base;
      for (const delta of writes) {
        if (delta.values.length > 0) {
          value = delta.values[delta.values.length - 1];
          present = true;
        } else if (kind === "ephemeral" && present) {
          // An ephemeral value lasts one superstep: a commit without a write clears it.
          value = undefined;
          present = false;
        }
      }
      if (present) values[key] = value;
      continue;
    }
    unreplayed[key] = {
      kind,
      base: base[key],
      writes: writes.flatMap((delta) => delta.values.map((value) => ({ step: delta.step, value }))),
    };
  }
  return { values, unreplayed, keysFrom: kinds === undefined ? "stored" : "graphShape" };
}
