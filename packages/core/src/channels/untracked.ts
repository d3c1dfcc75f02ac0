import type { ChannelSpec } from "./channel.js";
import { LastValueChannel } from "./last-value.js";

/** Options of `untracked`: the value it starts from, and starts over from after a restart. */
export interface UntrackedOptions<T> {
  /** Makes the channel available from the start and after every restore. */
  readonly default?: () => T;
}

/**
 * A last-value key that is never checkpointed: for handles and caches that
 * cannot or should not be serialized. After a restart it starts over from
 * `default` (or empty), so nodes must be able to rebuild what it held.
 */
export function untracked<T>(
  options: UntrackedOptions<T> & { readonly default: () => T },
): ChannelSpec<T, T>;
/** Without a default the key reads undefined until a node writes it (and after a restart), and is typed so. */
export function untracked<T>(options?: UntrackedOptions<T>): ChannelSpec<T | undefined, T>;
export function untracked<T>(options: UntrackedOptions<T> = {}): ChannelSpec<T | undefined, T> {
  const makeDefault = options.default;
  return {
    kind: "untracked",
    persisted: false,
    create: () => new UntrackedChannel(makeDefault),
  };
}

class UntrackedChannel<T> extends LastValueChannel<T> {
  override checkpoint(): unknown {
    return undefined;
  }

  override restore(_data: unknown): void {
    // Nothing was saved, so restoring means starting over.
    this.reset();
  }
}
