import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { langchainSerializer } from "@waypoint/langchain";

/** The stores these tests run on: memory, and SQLite on a temporary file. */
export interface StoreKind {
  readonly name: string;
  readonly create: () => Checkpointer;
}

let directory: string | undefined;
let files = 0;
const opened: Checkpointer[] = [];

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

export const STORES: readonly StoreKind[] = [
  { name: "memory", create: () => new MemoryCheckpointer({ serializer: langchainSerializer() }) },
  {
    name: "sqlite",
    create: () => {
      directory ??= mkdtempSync(join(tmpdir(), "waypoint-langchain-"));
      const store = new SqliteCheckpointer(join(directory, `store-${++files}.db`), {
        serializer: langchainSerializer(),
      });
      opened.push(store);
      return store;
    },
  },
];
