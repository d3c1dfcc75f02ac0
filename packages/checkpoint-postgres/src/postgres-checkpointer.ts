import type pg from "pg";
import {
  CheckpointNotFoundError,
  createSerializer,
  type CheckpointAddress,
  type CheckpointHeader,
  type Checkpointer,
  type CheckpointerOptions,
  type Serializer,
  type GetOptions,
  type ListOptions,
  type ListThreadsOptions,
  type LoadedCheckpoint,
  type PendingWrite,
  type PruneOptions,
  type PruneResult,
  type PutPendingWritesOptions,
  type PutRequest,
  type RunStore,
  type ThreadExport,
  type ThreadPage,
} from "@waypoint/checkpoint";
import {
  checkMetadataFilter,
  DEFAULT_GROUP_COMMIT,
  assertId,
  decodeLoaded,
  decodePendingWrite,
  headerDecoder,
  listThreadPage,
  resolveAddress,
  resolveLimit,
  resolveNamespace,
  resolveSnapshotPolicy,
  sortPending,
  type EncodedCheckpoint,
  type EncodedHeader,
  type GroupCommitOptions,
  RunWakes,
} from "@waypoint/checkpoint/backend";
import { CheckpointWriter } from "./internal/checkpoint-writer.js";
import { Database, type CheckpointStore } from "./internal/database.js";
import { checkOptions } from "./internal/options.js";
import { deleteThread, prune, sweep } from "./internal/retention.js";
import type { RetryOptions } from "./internal/retry.js";
import { PAGE_SIZE, type PendingRow, type ThreadRow } from "./internal/rows.js";
import { listenForRuns, runChannel } from "./internal/run-listener.js";
import { runStatements } from "./internal/run-statements.js";
import { quoteIdentifier } from "./internal/schema.js";
import { statements } from "./internal/statements.js";
import { copyThread, exportThread, importThread } from "./internal/thread-transfer.js";
import { PostgresRunStore } from "./postgres-run-store.js";

/**
 * Settings of a PostgresCheckpointer: those of every backend, plus where to
 * connect (a pool or a connection string), the schema, retries, timeouts,
 * thread expiry and group commit.
 */
export interface PostgresCheckpointerOptions extends CheckpointerOptions {
  /** A pool to borrow (left open on close), or a connection string to open one. */
  readonly pool?: pg.Pool;
  readonly connectionString?: string;
  /** The schema of Waypoint's tables (default "waypoint"). */
  readonly schema?: string;
  /** Retries of errors that are safe to retry (connection lost, deadlock, shutdown…). */
  readonly retry?: Partial<RetryOptions>;
  /**
   * Give each thread written through this checkpointer an expiry this long
   * after its last write; `sweep()` deletes expired threads. Off by default.
   */
  readonly ttlSeconds?: number;
  /**
   * Send statements as named prepared statements (default true): planned once
   * per connection. Turn off behind a pooler that cannot keep them (PgBouncer
   * before 1.21 in transaction mode).
   */
  readonly preparedStatements?: boolean;
  /**
   * Group commit (default on): puts that arrive while `maxInFlight` put
   * statements are already on the wire wait, then go together, up to
   * `maxBatch` of distinct threads, as one statement in one transaction.
   * Each keeps its own checks and outcome. A put that finds a slot free goes
   * at once, alone. `false` sends every put alone.
   */
  readonly groupCommit?: boolean | { readonly maxBatch?: number; readonly maxInFlight?: number };
  /**
   * How long to wait for a new connection (default 2000 ms; a pool you pass
   * in keeps its own `connectionTimeoutMillis`).
   */
  readonly connectTimeoutMs?: number;
  /**
   * The server cancels a statement after this long (`statement_timeout`, on a
   * pool opened here), and the client stops waiting for an answer 1 s later
   * (`query_timeout`, on every statement), so a frozen server cannot hold a
   * run. Default 3000 ms. Migrations in `setup()` are exempt.
   */
  readonly queryTimeoutMs?: number;
  /**
   * Retries stop so that an operation on a dead or frozen server ends within
   * this long with STORAGE_UNAVAILABLE: no attempt starts that could end
   * after it. Default 9000 ms.
   */
  readonly unavailableAfterMs?: number;
}

function groupCommitOptions(
  option: PostgresCheckpointerOptions["groupCommit"],
): GroupCommitOptions | undefined {
  if (option === false) return undefined;
  return { ...DEFAULT_GROUP_COMMIT, ...(option === true ? {} : option) };
}

/**
 * The production checkpointer on PostgreSQL. A superstep is one statement:
 * the head check, the head move and the checkpoint row together, so a
 * conflict costs nothing extra and leaves nothing behind.
 */
export class PostgresCheckpointer implements Checkpointer {
  readonly schema: string;
  readonly serializer: Serializer;
  private readonly db: Database;
  private readonly store: CheckpointStore;
  private readonly runStore: PostgresRunStore;
  private readonly writer: CheckpointWriter;
  /** The workers' watches, and the LISTEN connection while there are any. */
  private readonly wakes: RunWakes;

  constructor(options: PostgresCheckpointerOptions) {
    checkOptions(options);
    this.schema = options.schema ?? "waypoint";
    this.db = new Database(options, this.schema);
    const serializer = options.serializer ?? createSerializer();
    this.serializer = serializer;
    const policy = resolveSnapshotPolicy(options.snapshots);
    const ttlSeconds = options.ttlSeconds ?? 0;
    const sql = statements(quoteIdentifier(this.schema), ttlSeconds > 0);
    this.store = { db: this.db, sql, serializer };
    this.writer = new CheckpointWriter(
      this.store,
      policy,
      ttlSeconds,
      groupCommitOptions(options.groupCommit),
    );
    const channel = runChannel(this.schema);
    this.wakes = new RunWakes(listenForRuns(this.db.clientConfig(), channel));
    this.runStore = new PostgresRunStore(
      this.db,
      runStatements(quoteIdentifier(this.schema), channel),
      serializer,
      this.schema,
      this.wakes,
    );
  }

  /** The run queue, in the same schema: claims, leases and the fences checked by `put`. */
  get runs(): RunStore {
    return this.runStore;
  }

  /** Creates or upgrades the schema. Runs once per instance; safe in several processes at once. */
  setup(): Promise<void> {
    return this.db.setup();
  }

  put(request: PutRequest): Promise<CheckpointHeader> {
    return this.writer.put(request);
  }

  putPendingWrites(
    target: CheckpointAddress,
    writes: readonly PendingWrite[],
    options: PutPendingWritesOptions = {},
  ): Promise<void> {
    return this.writer.putPendingWrites(target, writes, options);
  }

  async getPendingWrites(address: CheckpointAddress): Promise<PendingWrite[]> {
    const { threadId, namespace, checkpointId } = resolveAddress(address);
    const rows = await this.db.query<PendingRow>("getPendingWrites", this.store.sql.pendingOf, [
      threadId,
      namespace,
      checkpointId,
    ]);
    return sortPending(rows).map((row) =>
      decodePendingWrite({ ...row, threadId, namespace, checkpointId }, this.store.serializer),
    );
  }

  async get(threadId: string, options: GetOptions = {}): Promise<LoadedCheckpoint | undefined> {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    const id = options.checkpointId;
    if (id !== undefined) assertId(id, "checkpointId");
    const rows = await this.db.query<
      EncodedCheckpoint & { isTarget: boolean; pending: PendingRow[] | null }
    >(
      "get",
      id === undefined ? this.store.sql.loadHead : this.store.sql.loadById,
      id === undefined ? [threadId, namespace] : [threadId, namespace, id],
    );
    const target = rows.find((row) => row.isTarget);
    if (target === undefined) {
      if (id === undefined) return undefined;
      throw new CheckpointNotFoundError(threadId, namespace, id);
    }
    const pending = (target.pending ?? []).map((row) => ({
      ...row,
      threadId,
      namespace,
      checkpointId: target.id,
    }));
    return decodeLoaded(target, rows, pending, this.store.serializer);
  }

  async *list(threadId: string, options: ListOptions = {}): AsyncIterable<CheckpointHeader> {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    if (options.before !== undefined) assertId(options.before, "before");
    checkMetadataFilter(options.filter);
    const limit = resolveLimit(
      options.limit,
      "limit",
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    );
    // Metadata filters run in SQL: top-level keys compared as jsonb (deep equality).
    const entries = Object.entries(options.filter ?? {});
    const filters = entries
      .map((_, i) => `AND metadata -> $${5 + 2 * i} = $${6 + 2 * i}::jsonb`)
      .join(" ");
    const filterParams = entries.flatMap(([key, value]) => [key, JSON.stringify(value)]);
    let before = options.before ?? "\uffff";
    let yielded = 0;
    while (yielded < limit) {
      const size = Math.min(PAGE_SIZE, limit - yielded);
      const rows = await this.db.query<EncodedHeader & { listed: boolean }>(
        "list",
        this.store.sql.listPage(filters),
        [threadId, namespace, before, size, ...filterParams],
      );
      const page = rows.filter((row) => row.listed);
      // The rows after the page are the older records its delta headers decode from.
      const decodeHeader = headerDecoder(rows, this.store.serializer);
      for (const record of page) {
        yield decodeHeader(record);
        yielded += 1;
      }
      if (page.length < size) return;
      before = page[page.length - 1]!.id;
    }
  }

  async listNamespaces(threadId: string): Promise<string[]> {
    assertId(threadId, "threadId");
    // A namespace has a head row from its first checkpoint until its thread is deleted.
    const rows = await this.db.query<{ namespace: string }>(
      "listNamespaces",
      this.store.sql.namespacesOf,
      [threadId],
    );
    return rows.map((row) => row.namespace).sort();
  }

  async listThreads(options: ListThreadsOptions = {}): Promise<ThreadPage> {
    return listThreadPage(options, async (after) => {
      const rows = await this.db.query<ThreadRow>("listThreads", this.store.sql.threadsPage, [
        after,
        PAGE_SIZE,
      ]);
      const heads = rows.map((row) => ({ ...row, pendingChannels: row.channels }));
      return { heads, last: rows.length < PAGE_SIZE ? undefined : rows[rows.length - 1]!.threadId };
    });
  }

  deleteThread(threadId: string): Promise<boolean> {
    return deleteThread(this.store, threadId);
  }

  /**
   * Deletes the threads whose TTL has passed, `batch` at a time, each in its
   * own transaction. Run it from a timer or a cron job; returns how many went.
   */
  sweep(options: { batch?: number } = {}): Promise<number> {
    return sweep(this.store, options);
  }

  prune(options: PruneOptions): Promise<PruneResult> {
    return prune(this.store, options);
  }

  copyThread(fromThreadId: string, toThreadId: string): Promise<void> {
    return copyThread(this.store, fromThreadId, toThreadId);
  }

  exportThread(threadId: string): Promise<ThreadExport> {
    return exportThread(this.store, threadId);
  }

  importThread(data: ThreadExport): Promise<void> {
    return importThread(this.store, data);
  }

  close(): Promise<void> {
    // Puts already queued for a batch are written first.
    return this.db.close(async () => {
      await this.wakes.close();
      await this.writer.drained();
    });
  }
}
