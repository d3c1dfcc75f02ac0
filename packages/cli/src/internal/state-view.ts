import type { LoadedCheckpoint } from "@waypoint/checkpoint";
import { isStateKey, keyHistories, type StoredShape } from "@waypoint/core/inspect";

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

/**
 * Rebuilds the state of a checkpoint from its base snapshot and deltas.
 * `lastValue` and `ephemeral` keys are replayed exactly as the runtime does;
 * any other kind with writes since the snapshot is shown as base + writes.
 * `kinds`: the channel kinds of the graph that wrote it (shapeAt), if stored.
 */
export function stateView(
  loaded: LoadedCheckpoint,
  kinds: StoredShape["channels"] | undefined,
): StateView {
  const histories = keyHistories(loaded);
  const keys = kinds !== undefined ? Object.keys(kinds) : [...histories.keys()].filter(isStateKey);
  const values: Record<string, unknown> = {};
  const unreplayed: Record<string, UnreplayedKey> = {};
  for (const key of keys) {
    const kind = kinds?.[key] ?? "unknown";
    const history = histories.get(key);
    if (kind === "untracked" || history === undefined) continue;
    const written = history.deltas.some((delta) => delta.values.length > 0);
    if (!written) {
      if (history.inBase) values[key] = history.base;
      continue;
    }
    if (kind === "lastValue" || kind === "ephemeral") {
      let value: unknown = history.base;
      let present = history.inBase;
      for (const delta of history.deltas) {
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
      base: history.base,
      writes: history.deltas.flatMap((delta) =>
        delta.values.map((value) => ({ step: delta.step, value })),
      ),
    };
  }
  return { values, unreplayed, keysFrom: kinds === undefined ? "stored" : "graphShape" };
}
