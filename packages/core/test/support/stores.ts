import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { reducer } from "@waypoint/core";

/** The two stores the human-in-the-loop tests run on: memory, and SQLite on a file (no server needed). */
export interface StoreKind {
  readonly name: string;
  create(): Checkpointer;
}

let directory: string | undefined;
let files = 0;
const opened: Checkpointer[] = [];

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

export const STORES: readonly StoreKind[] = [
  { name: "memory", create: () => new MemoryCheckpointer() },
  {
    name: "sqlite",
    create: () => {
      directory ??= mkdtempSync(join(tmpdir(), "waypoint-hitl-"));
      const store = new SqliteCheckpointer(join(directory, `hitl-${++files}.db`));
      opened.push(store);
      return store;
    },
  },
];

/**
 * An outside service that deduplicates by idempotency key, as a payment API
 * does: it counts every call, and applies each key once.
 */
export class DedupSink {
  readonly calls: string[] = [];
  readonly applied = new Map<string, string>();

  apply(key: string, what: string): string {
    this.calls.push(key);
    if (!this.applied.has(key)) this.applied.set(key, what);
    return `${what}#${key.slice(0, 8)}`;
  }

  /** How many times `what` was applied (under any key). */
  count(what: string): number {
    return [...this.applied.values()].filter((value) => value === what).length;
  }
}

export async function collect<T>(events: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of events) items.push(item);
  return items;
}

/** The state key most tests log to: a list that each write appends a line to. */
export const appendLog = () =>
  reducer(
    (lines: string[], line: string) => [...lines, line],
    () => [] as string[],
  );
