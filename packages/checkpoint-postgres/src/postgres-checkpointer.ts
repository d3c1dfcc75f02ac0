import type pg from "pg";
import {
  CheckpointNotFoundError,
  FORMAT_VERSION,
  ThreadExistsError,
  ThreadNotFoundError,
  createSerializer,
  type CheckpointAddress,
  type CheckpointHeader,
  type Checkpointer,
  type CheckpointerOptions,
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
  type Serializer,
  type ThreadExport,
  type ThreadPage,
} from "@waypoint/checkpoint";
import {
  assertId,
  checkPruneOptions,
  decodeHeader,
  decodeLoaded,
  listThreadPage,
  pruneSelection,
  resolveLimit,
  resolveNamespace,
  resolveSnapshotPolicy,
  validateThreadExport,
  type EncodedCheckpoint,
  type EncodedHeader,
  type EncodedPendingWrite,
  type PruneCandidate,
} from "@waypoint/checkpoint/backend";
import { Database } from "./internal/database.js";
import type { RetryOptions } from "./internal/retry.js";
import { CheckpointWriter } from "./internal/checkpoint-writer.js";
import { DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from "./internal/group-commit.js";
import { runStatements } from "./internal/run-statements.js";
import { quoteIdentifier } from "./internal/schema.js";
import { statements, type Statements } from "./internal/statements.js";
import {
  checkpointParams,
  type NamespaceRow,
  type PendingRow,
  type ThreadRow,
} from "./internal/rows.js";
import { PostgresRunStore } from "./postgres-run-store.js";

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
}

const PAGE_SIZE = 100;

function groupCommitOptions(
  option: PostgresCheckpointerOptions["groupCommit"],
): GroupCommitOptions | undefined {
  if (option === false) return undefined;
  const chosen = { ...DEFAULT_GROUP_COMMIT, ...(option === true ? {} : option) };
  for (const [name, value] of Object.entries(chosen)) {
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(`groupCommit.${name} must be a positive integer, got ${String(value)}`);
  }
  return chosen;
}

const DELETE_BATCH = 500;

/**
 * The production checkpointer on PostgreSQL. A superstep is one statement:
 * the head check, the head move and the checkpoint row together, so a
 * conflict costs nothing extra and leaves nothing behind.
 */
export class PostgresCheckpointer implements Checkpointer {
  readonly schema: string;
  private readonly db: Database;
  private readonly serializer: Serializer;
  private readonly sql: Statements;
  private readonly runStore: PostgresRunStore;
  private readonly writer: CheckpointWriter;

  constructor(options: PostgresCheckpointerOptions) {
    if (options.pool === undefined && options.connectionString === undefined) {
      throw new TypeError("PostgresCheckpointer needs { pool } or { connectionString }");
    }
    this.schema = options.schema ?? "waypoint";
    this.db = new Database(options, this.schema);
    this.serializer = options.serializer ?? createSerializer();
    const policy = resolveSnapshotPolicy(options.snapshots);
    const ttlSeconds = options.ttlSeconds ?? 0;
    this.sql = statements(quoteIdentifier(this.schema), ttlSeconds > 0);
    this.writer = new CheckpointWriter(
      { db: this.db, sql: this.sql, serializer: this.serializer },
      policy,
      ttlSeconds,
      groupCommitOptions(options.groupCommit),
    );
    this.runStore = new PostgresRunStore(
      this.db,
      runStatements(quoteIdentifier(this.schema)),
      this.serializer,
      this.schema,
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

  async get(threadId: string, options: GetOptions = {}): Promise<LoadedCheckpoint | undefined> {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    const id = options.checkpointId;
    if (id !== undefined) assertId(id, "checkpointId");
    const rows = await this.db.query<
      EncodedCheckpoint & { isTarget: boolean; pending: PendingRow[] | null }
    >(
      "get",
      id === undefined ? this.sql.loadHead : this.sql.loadById,
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
    return decodeLoaded(target, rows, pending, this.serializer);
  }

  async *list(threadId: string, options: ListOptions = {}): AsyncIterable<CheckpointHeader> {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    if (options.before !== undefined) assertId(options.before, "before");
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
      const page = await this.db.query<EncodedHeader>("list", this.sql.listPage(filters), [
        threadId,
        namespace,
        before,
        size,
        ...filterParams,
      ]);
      for (const record of page) {
        yield decodeHeader(record, this.serializer);
        yielded += 1;
      }
      if (page.length < size) return;
      before = page[page.length - 1]!.id;
    }
  }

  async listThreads(options: ListThreadsOptions = {}): Promise<ThreadPage> {
    return listThreadPage(options, async (after) => {
      const rows = await this.db.query<ThreadRow>("listThreads", this.sql.threadsPage, [
        after,
        PAGE_SIZE,
      ]);
      const heads = rows.map((row) => ({ ...row, pendingChannels: row.channels }));
      return { heads, last: rows.length < PAGE_SIZE ? undefined : rows[rows.length - 1]!.threadId };
    });
  }

  async deleteThread(threadId: string): Promise<boolean> {
    assertId(threadId, "threadId");
    // The heads go first, in one transaction: readers see the thread gone at once.
    const namespaces = await this.db.transaction("deleteThread", async (client) => {
      const rows = (await client.query<NamespaceRow>(this.sql.namespacesOf, [threadId])).rows;
      await client.query(this.sql.deleteHeads, [threadId]);
      await client.query(this.sql.deleteTtl, [threadId]);
      return rows;
    });
    // Then the rows, in bounded batches, up to each old head (a thread made anew under the id is left alone).
    for (const { namespace, headId } of namespaces) {
      for (;;) {
        const ids = await this.db.query<{ id: string }>("deleteThread", this.sql.idsUpTo, [
          threadId,
          namespace,
          headId,
          DELETE_BATCH,
        ]);
        if (ids.length === 0) break;
        await this.db.query("deleteThread", this.sql.deleteIds, [
          threadId,
          namespace,
          ids.map((row) => row.id),
        ]);
      }
    }
    return namespaces.length > 0;
  }

  /**
   * Deletes the threads whose TTL has passed, `batch` at a time, each in its
   * own transaction. Run it from a timer or a cron job; returns how many went.
   */
  async sweep(options: { batch?: number } = {}): Promise<number> {
    let swept = 0;
    for (;;) {
      const expired = await this.db.query<{ threadId: string }>("sweep", this.sql.expired, [
        options.batch ?? 100,
      ]);
      for (const { threadId } of expired) {
        await this.deleteThread(threadId);
        swept += 1;
      }
      if (expired.length < (options.batch ?? 100)) return swept;
    }
  }

  async prune(options: PruneOptions): Promise<PruneResult> {
    checkPruneOptions(options);
    let deleted = 0;
    for await (const { threadId, namespace, headId } of this.namespaces(options.threadId)) {
      const candidates = await this.db.query<PruneCandidate>("prune", this.sql.pruneCandidates, [
        threadId,
        namespace,
      ]);
      const doomed = pruneSelection(candidates, headId, options);
      // Bounded batches, each its own short statement, so writers are never held up for long.
      for (let start = 0; start < doomed.length; start += DELETE_BATCH) {
        const rows = await this.db.query<{ deleted: number }>("prune", this.sql.deleteIds, [
          threadId,
          namespace,
          doomed.slice(start, start + DELETE_BATCH),
        ]);
        deleted += rows[0]?.deleted ?? 0;
      }
    }
    return { deleted };
  }

  async copyThread(fromThreadId: string, toThreadId: string): Promise<void> {
    assertId(fromThreadId, "fromThreadId");
    assertId(toThreadId, "toThreadId");
    await this.db.transaction("copyThread", async (client) => {
      if ((await client.query(this.sql.threadExists, [fromThreadId])).rowCount === 0) {
        throw new ThreadNotFoundError(fromThreadId);
      }
      if ((await client.query(this.sql.threadExists, [toThreadId])).rowCount !== 0) {
        throw new ThreadExistsError(toThreadId);
      }
      for (const statement of [
        this.sql.copyCheckpoints,
        this.sql.copyPending,
        this.sql.copyHeads,
      ]) {
        await client.query(statement, [fromThreadId, toThreadId]);
      }
    });
  }

  async exportThread(threadId: string): Promise<ThreadExport> {
    assertId(threadId, "threadId");
    const [checkpoints, pendingWrites] = await this.db.transaction(
      "exportThread",
      async (client) => [
        (await client.query<EncodedCheckpoint>(this.sql.exportCheckpoints, [threadId])).rows,
        (await client.query<EncodedPendingWrite>(this.sql.exportPending, [threadId])).rows,
      ],
    );
    if (checkpoints.length === 0) throw new ThreadNotFoundError(threadId);
    return {
      format: "waypoint.thread",
      formatVersion: FORMAT_VERSION,
      threadId,
      checkpoints,
      pendingWrites,
    };
  }

  async importThread(data: ThreadExport): Promise<void> {
    const valid = validateThreadExport(data, this.serializer);
    await this.db.transaction("importThread", async (client) => {
      if ((await client.query(this.sql.threadExists, [valid.threadId])).rowCount !== 0) {
        throw new ThreadExistsError(valid.threadId);
      }
      const sorted = [...valid.checkpoints].sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const record of sorted) {
        await client.query(this.sql.insertCheckpoint, checkpointParams(record));
        await client.query(this.sql.upsertHead, [record.threadId, record.namespace, record.id]);
      }
      for (const write of valid.pendingWrites) {
        await client.query(this.sql.putPending, [
          write.threadId,
          write.namespace,
          write.checkpointId,
          [write.taskId],
          [write.idx],
          [write.formatVersion],
          [write.channel],
          [write.value],
        ]);
      }
    });
  }

  close(): Promise<void> {
    // Puts already queued for a batch are written first.
    return this.db.close(() => this.writer.drained());
  }

  /** Every (thread, namespace) with its head: of one thread, or of all, paged. */
  private async *namespaces(threadId: string | undefined) {
    if (threadId !== undefined) {
      yield* await this.db.query<NamespaceRow>("prune", this.sql.namespacesOf, [threadId]);
      return;
    }
    let cursor: [string, string] = ["", ""];
    for (;;) {
      const page = await this.db.query<NamespaceRow>("prune", this.sql.allNamespaces, [
        ...cursor,
        PAGE_SIZE,
      ]);
      yield* page;
      if (page.length < PAGE_SIZE) return;
      const last = page[page.length - 1]!;
      cursor = [last.threadId, last.namespace];
    }
  }
}
