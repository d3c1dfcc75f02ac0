import { existsSync } from "node:fs";
import type { Checkpointer } from "@waypoint/checkpoint";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { UsageError } from "./internal/io.js";

/** The backends a `--store` URL can name. */
export type StoreKind = "sqlite" | "postgres" | "redis";

/**
 * Options of `openStore`, from the command's flags: the PostgreSQL schema,
 * the Redis prefix, the servers' timeout, and whether SQLite may create its file.
 */
export interface OpenStoreOptions {
  /** PostgreSQL schema (default "waypoint"). */
  readonly schema?: string;
  /** Redis key prefix (default "waypoint"). */
  readonly prefix?: string;
  /**
   * PostgreSQL and Redis: an operation on an unreachable server ends with
   * STORAGE_UNAVAILABLE after about this long (the store's default otherwise:
   * 9 s on PostgreSQL, 8 s on Redis).
   */
  readonly timeoutMs?: number;
  /** SQLite: create the file if it does not exist (only `import` does). */
  readonly create?: boolean;
}

/** A checkpointer opened from a `--store` URL, with what the commands show and do with it. */
export interface OpenedStore {
  readonly kind: StoreKind;
  /** The store as shown to the user (a PostgreSQL or Redis URL without its password). */
  readonly label: string;
  readonly checkpointer: Checkpointer;
  /** Deletes threads whose TTL has passed; undefined where the store keeps no TTLs (SQLite). */
  readonly sweep?: (batch?: number) => Promise<number>;
  /** Closes the checkpointer and the connections it opened. */
  close(): Promise<void>;
}

/** The forms a `--store` URL takes, as the error for an unknown one lists them. */
export const STORE_FORMS = [
  "sqlite:PATH (or a path ending in .db, .sqlite or .sqlite3)",
  "postgres://USER:PASSWORD@HOST:PORT/DATABASE (or postgresql://), with --schema",
  "redis://HOST:PORT (or rediss:// for TLS), with --prefix",
];

/** Which checkpointer a `--store` URL names, and where. */
export function parseStoreUrl(url: string): { kind: StoreKind; target: string } {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") throw new UsageError(`--store sqlite: needs a file path (sqlite:PATH)`);
    return { kind: "sqlite", target: path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: "postgres", target: url };
  if (/^rediss?:\/\//.test(url)) return { kind: "redis", target: url };
  if (/\.(db|sqlite3?)$/.test(url) && !url.includes("://")) return { kind: "sqlite", target: url };
  throw new UsageError(
    `unknown store ${JSON.stringify(url)}; --store takes one of:\n` +
      STORE_FORMS.map((form) => `  ${form}`).join("\n"),
  );
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Opens the checkpointer a `--store` URL names. Nothing is read yet: an
 * unreachable server shows itself on the first operation, as
 * STORAGE_UNAVAILABLE within the store's timeout. SQLite checks the file's
 * schema version at once (UNSUPPORTED_FORMAT_VERSION for a newer one).
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const { kind, target } = parseStoreUrl(url);
  if (kind !== "postgres" && options.schema !== undefined)
    throw new UsageError(`--schema is for PostgreSQL stores; this store is ${kind}`);
  if (kind !== "redis" && options.prefix !== undefined)
    throw new UsageError(`--prefix is for Redis stores; this store is ${kind}`);
  if (kind === "sqlite") {
    // A mistyped path would otherwise become a new, empty database.
    if (options.create !== true && !existsSync(target))
      throw new UsageError(`no SQLite database at ${target} (sqlite:PATH names an existing file)`);
    const checkpointer = new SqliteCheckpointer(target);
    return { kind, label: `sqlite:${target}`, checkpointer, close: () => checkpointer.close() };
  }
  if (kind === "postgres") {
    const checkpointer = new PostgresCheckpointer({
      connectionString: target,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
      ...(options.timeoutMs === undefined ? {} : { unavailableAfterMs: options.timeoutMs }),
    });
    return {
      kind,
      label: `${withoutPassword(target)} (schema ${checkpointer.schema})`,
      checkpointer,
      sweep: (batch) => checkpointer.sweep(batch === undefined ? {} : { batch }),
      close: () => checkpointer.close(),
    };
  }
  const checkpointer = new RedisCheckpointer({
    url: target,
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return {
    kind,
    label: `${withoutPassword(target)} (prefix ${options.prefix ?? "waypoint"})`,
    checkpointer,
    sweep: (batch) => checkpointer.sweep(batch === undefined ? {} : { batch }),
    close: () => checkpointer.close(),
  };
}
