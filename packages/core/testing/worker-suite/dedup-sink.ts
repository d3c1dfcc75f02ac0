/** An effect sink that, like a payment API, dedups by idempotency key and counts what it saw. */
export class DedupSink {
  readonly calls: string[] = [];
  readonly applied = new Map<string, string>();
  /** Logs a call of `entry`, and applies it unless an entry with the same `key` was applied before. */
  record(key: string, entry: string): string {
    this.calls.push(entry);
    if (!this.applied.has(key)) this.applied.set(key, entry);
    return entry;
  }
  /** Entries applied, in order. */
  entries(): string[] {
    return [...this.applied.values()];
  }
}
