import type { EffectSink } from "./graphs.js";

export interface Delivery {
  readonly key: string;
  readonly slot: string;
  /** The op (1-based) it was delivered in. */
  readonly op: number;
}

export interface Entry {
  readonly node: string;
  readonly taskId: string;
  readonly op: number;
}

/**
 * The outside system the effects talk to: it counts every delivery and
 * applies each idempotency key once. Deliveries made while the invariants
 * probe a scratch copy of the thread go to `scratch` and count for nothing.
 */
export class MemorySink implements EffectSink {
  readonly deliveries: Delivery[] = [];
  readonly entries: Entry[] = [];
  readonly applied = new Set<string>();
  scratch = 0;
  op = 0;
  /** Set to fake a bug in the sink itself (the test of the checks). */
  fake: { duplicateNextDelivery?: boolean } = {};

  deliver(key: string, slot: string): string {
    if (this.scratch > 0) return `R:${key}`;
    this.deliveries.push({ key, slot, op: this.op });
    if (this.fake.duplicateNextDelivery === true) {
      this.fake.duplicateNextDelivery = false;
      this.deliveries.push({ key, slot, op: this.op });
    }
    this.applied.add(key);
    return `R:${key}`;
  }

  enter(node: string, taskId: string): void {
    if (this.scratch === 0) this.entries.push({ node, taskId, op: this.op });
  }

  /** Lines a child process wrote (`D\tkey\tslot`, `E\tnode\ttaskId`), taken as deliveries of the current op. */
  ingest(lines: readonly string[]): void {
    for (const line of lines) {
      const [kind, a, b] = line.split("\t");
      if (kind === "D" && a && b) this.deliver(a, b);
      else if (kind === "E" && a && b) this.enter(a, b);
    }
  }

  of(op: number): Delivery[] {
    return this.deliveries.filter((d) => d.op === op);
  }

  /** Runs `body` with the sink in scratch mode. */
  async aside<T>(body: () => Promise<T>): Promise<T> {
    this.scratch += 1;
    try {
      return await body();
    } finally {
      this.scratch -= 1;
    }
  }
}
