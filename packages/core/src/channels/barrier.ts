import { EmptyChannelError } from "./channel.js";
import type { Channel, ChannelSpec } from "./channel.js";

/**
 * The runtime's fan-in join: the node behind it runs once every name in
 * `names` (the upstream nodes) has written here, possibly across several
 * supersteps. It holds no data; `get` returns undefined once complete.
 */
export function barrier(names: readonly string[]): ChannelSpec<undefined, string> {
  if (names.length === 0) {
    // An empty barrier would be complete forever and fire on every step.
    throw new Error("a barrier needs at least one name to wait for");
  }
  const expected = new Set(names);
  return {
    kind: "barrier",
    persisted: true,
    create: () => new BarrierChannel(expected),
  };
}

class BarrierChannel implements Channel<undefined, string> {
  readonly #expected: ReadonlySet<string>;
  readonly #seen = new Set<string>();

  constructor(expected: ReadonlySet<string>) {
    this.#expected = expected;
  }

  update(writes: readonly string[]): boolean {
    // Check every write before changing anything, so a bad write leaves the barrier as it was.
    for (const name of writes) this.#checkName(name);
    let changed = false;
    if (this.isAvailable()) {
      // It was complete when this superstep was planned, so the join node ran
      // in it and consumed it: start waiting again.
      this.#seen.clear();
      changed = true;
    }
    for (const name of writes) {
      if (!this.#seen.has(name)) {
        this.#seen.add(name);
        changed = true;
      }
    }
    return changed;
  }

  isAvailable(): boolean {
    return this.#seen.size === this.#expected.size;
  }

  get(): undefined {
    if (!this.isAvailable()) throw new EmptyChannelError();
    return undefined;
  }

  checkpoint(): unknown {
    return this.#seen.size > 0 ? [...this.#seen].sort() : undefined;
  }

  restore(data: unknown): void {
    if (data !== undefined && !Array.isArray(data)) {
      throw new Error(`a barrier snapshot must be an array of names, got ${typeof data}`);
    }
    const names: readonly unknown[] = data ?? [];
    for (const name of names) this.#checkName(name);
    this.#seen.clear();
    for (const name of names) this.#seen.add(name as string);
  }

  #checkName(name: unknown): void {
    if (typeof name === "string" && this.#expected.has(name)) return;
    throw new Error(
      `barrier got unknown name ${JSON.stringify(name)}; expected one of: ${[...this.#expected].join(", ")}`,
    );
  }
}
