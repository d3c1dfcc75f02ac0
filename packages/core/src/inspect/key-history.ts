import type { LoadedCheckpoint } from "@waypoint/checkpoint";

/**
 * One channel's stored history at a checkpoint, as a reader without the
 * graph sees it: its value at the nearest snapshot, and what each delta
 * since wrote to it. Folding it needs the channel's kind (and, for a
 * reducer, the graph's code).
 */
export interface KeyHistory {
  /** Whether the snapshot holds a value for the channel. */
  readonly inBase: boolean;
  /** Its value there (undefined when it holds none). */
  readonly base: unknown;
  /** One entry per delta, oldest first: its step and the values it wrote to the channel, in order (often none). */
  readonly deltas: readonly { readonly step: number; readonly values: readonly unknown[] }[];
}

/**
 * Every channel the snapshot or a delta since holds, with its history:
 * the snapshot's channels first, then the others in the order first written.
 */
export function keyHistories(loaded: LoadedCheckpoint): Map<string, KeyHistory> {
  const base = loaded.base.values;
  const histories = new Map<string, { inBase: boolean; base: unknown; deltas: unknown[][] }>();
  const historyOf = (channel: string) => {
    let history = histories.get(channel);
    if (history === undefined) {
      history = {
        inBase: channel in base,
        base: base[channel],
        deltas: loaded.deltas.map(() => []),
      };
      histories.set(channel, history);
    }
    return history;
  };
  for (const channel of Object.keys(base)) historyOf(channel);
  loaded.deltas.forEach((delta, index) => {
    for (const write of delta.writes) historyOf(write.channel).deltas[index]!.push(write.value);
  });
  return new Map(
    [...histories].map(([channel, history]) => [
      channel,
      {
        inBase: history.inBase,
        base: history.base,
        deltas: history.deltas.map((values, index) => ({
          step: loaded.deltas[index]!.step,
          values,
        })),
      },
    ]),
  );
}

/**
 * Whether a stored channel is a state key rather than one of the runtime's
 * own (`__…`, `branch:to:…`, `join:…`): state keys may not start with "__"
 * or contain ":" (defineState).
 */
export function isStateKey(channel: string): boolean {
  return !channel.startsWith("__") && !channel.includes(":");
}
