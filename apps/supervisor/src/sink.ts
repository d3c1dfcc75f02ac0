import { appendFileSync, existsSync, readFileSync } from "node:fs";

export interface SinkEntry {
  readonly key: string;
  readonly agent: string;
  readonly payload: string;
  /** False when the key had been applied before: the sink dropped it. */
  readonly applied: boolean;
}

/**
 * The outside system the agents' tools write to: a JSON-lines file that
 * applies each idempotency key once and logs every attempt, so a test can
 * count attempts and applications across processes.
 */
export class DedupSink {
  constructor(readonly file: string) {}

  entries(): SinkEntry[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SinkEntry);
  }

  apply(key: string, agent: string, payload: string): void {
    const applied = !this.entries().some((entry) => entry.key === key && entry.applied);
    appendFileSync(this.file, `${JSON.stringify({ key, agent, payload, applied })}\n`);
  }
}

/** Per agent: how many writes reached the sink, and how many it applied. */
export interface Tally {
  readonly researcher: { readonly attempts: number; readonly applied: number };
  readonly writer: { readonly attempts: number; readonly applied: number };
}

export function tally(entries: readonly SinkEntry[]): Tally {
  const count = (agent: string, applied?: boolean) =>
    entries.filter((e) => e.agent === agent && (applied === undefined || e.applied === applied))
      .length;
  return {
    researcher: { attempts: count("researcher"), applied: count("researcher", true) },
    writer: { attempts: count("writer"), applied: count("writer", true) },
  };
}
