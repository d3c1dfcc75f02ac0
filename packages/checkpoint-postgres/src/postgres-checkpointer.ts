import type pg from "pg";
import {
  CheckpointConflictError,
  CheckpointNotFoundError,
  FORMAT_VERSION,
  ThreadExistsError,
  ThreadNotFoundError,
  createSerializer,
  type CheckpointAddress,
  type CheckpointHeader,
  type Checkpointer,
  type CheckpointerOptions,
  type Fence,
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
  encodePendingWrites,
  encodePut,
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
  type SnapshotPolicy,
} from "@waypoint/checkpoint/backend";
import { Database } from "./internal/database.js";
import type { RetryOptions } from "./internal/retry.js";
import {
  DEFAULT_GROUP_COMMIT,
  GroupCommit,
  type GroupCommitOptions,
} from "./internal/group-commit.js";
import { runStatements } from "./internal/run-statements.js";
import { quoteIdentifier } from "./internal/schema.js";
import { statements, type Statements } from "./internal/statements.js";
import {
  batchParams,
  checkpointParams,
  type PutParams,
  type NamespaceRow,
  type PendingRow,
  type ThreadRow,
} from "./internal/rows.js";
import {
  PostgresRunStore,
  fenceError,
  reportControl,
  type FenceState,
} from "./postgres-run-store.js";

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

function isHeadTaken(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === "23505" && constraint === "heads_pkey";
}
const DELETE_BATCH = 500;

/** What a fenced write returns: how many rows it wrote, and its run as it found it. */
type WrittenUnderFence = FenceState & { readonly written: number };

/** A put as it waits for a statement: what to write, and what to return. */
type QueuedPut = PutParams & { readonly header: CheckpointHeader };

/** A put's row of putBatch: whether it was written, and its run (fenced batches). */
type BatchRow = FenceState & { readonly written: boolean };

/**
 * The production checkpointer on PostgreSQL. A superstep is one statement:
 * the head check, the head move and the checkpoint row together, so a
 * conflict costs nothing extra and leaves nothing behind.
 */
export class PostgresCheckpointer implements Checkpointer {
  readonly schema: string;
  private readonly db: Database;
  private readonly serializer: Serializer;
  private readonly policy: SnapshotPolicy;
  private readonly sql: Statements;
  private readonly ttlSeconds: number;
  private readonly runStore: PostgresRunStore;
  private readonly group: GroupCommit<QueuedPut, CheckpointHeader> | undefined;

  constructor(options: PostgresCheckpointerOptions) {
    if (options.pool === undefined && options.connectionString === undefined) {
      throw new TypeError("PostgresCheckpointer needs { pool } or { connectionString }");
    }
    this.schema = options.schema ?? "waypoint";
    this.db = new Database(options, this.schema);
    this.serializer = options.serializer ?? createSerializer();
    this.policy = resolveSnapshotPolicy(options.snapshots);
    this.ttlSeconds = options.ttlSeconds ?? 0;
    this.sql = statements(quoteIdentifier(this.schema), this.ttlSeconds > 0);
    const group = groupCommitOptions(options.groupCommit);
    this.group =
      group &&
      new GroupCommit(group, {
        one: (put) => this.putAlone(put),
        many: (puts) => this.putMany(puts),
      });
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

  async put(request: PutRequest): Promise<CheckpointHeader> {
    const { record, header, expectedHeadId } = encodePut(request, this.serializer, this.policy);
    const put: QueuedPut = { record, header, expectedHeadId, fence: request.fence };
    const opening = this.db.opening();
    if (opening !== undefined) await opening;
    return this.group === undefined ? this.putAlone(put) : this.group.submit(record.threadId, put);
  }

  /**
   * One put in its own statement: a thread's first checkpoint or a head
   * move, fenced or not. `failed` is the error of a batch it was part of,
   * which wrote nothing or (uncertain commit) is checked for it first.
   */
  private async putAlone(put: QueuedPut, failed?: unknown): Promise<CheckpointHeader> {
    const { record, expectedHeadId } = put;
    const params = checkpointParams(record);
    if (expectedHeadId !== null) params.push(expectedHeadId);
    if (this.ttlSeconds > 0) params.push(this.ttlSeconds);
    if (put.fence !== undefined) {
      // Fenced puts are their own statements; an unfenced put stays as it was.
      await this.fencedPut(put.fence, record, expectedHeadId, params, failed);
      return put.header;
    }
    const statement = expectedHeadId === null ? this.sql.putFirst : this.sql.putNext;
    const inserted = await this.db.retrying(
      "put",
      () =>
        this.db.execute(statement, params).then(
          (result) => result.rowCount === 1,
          (error: unknown) => {
            // Another writer created the thread's head first: a conflict, told below.
            if (isHeadTaken(error)) return false;
            throw error;
          },
        ),
      // After a connection drop the insert may have committed: look before writing again.
      () => this.exists(record),
      failed,
    );
    if (inserted) return put.header;
    throw await this.notWritten(record, expectedHeadId);
  }

  /**
   * Puts of distinct threads as one statement, in one transaction (group
   * commit). Each put passes or fails its own checks; only those that pass
   * are written. Settles when the round trip is over, with each put's outcome.
   */
  private async putMany(puts: readonly QueuedPut[]): Promise<Promise<CheckpointHeader>[]> {
    const fenced = puts.some((put) => put.fence !== undefined);
    const params: unknown[] = batchParams(puts, fenced);
    if (this.ttlSeconds > 0) params.push(this.ttlSeconds);
    const statement = fenced ? this.sql.putBatchFenced : this.sql.putBatch;
    let rows: BatchRow[];
    try {
      rows = (await this.db.execute<BatchRow>(statement, params)).rows;
    } catch (error) {
      // The batch wrote all or nothing. Each put goes again alone: after a
      // retryable error as any put would (checked first if the commit is
      // uncertain), after another one (a head another writer created, one
      // put's unstorable value) to meet its own outcome.
      return puts.map((put) => this.putAlone(put, error));
    }
    return puts.map((put, i) => this.settle(put, rows[i]!));
  }

  /** A batched put's outcome, from its row of putBatch. */
  private settle(put: QueuedPut, row: BatchRow): Promise<CheckpointHeader> {
    const { fence } = put;
    if (row.written) {
      if (fence !== undefined) reportControl(fence, row);
      return Promise.resolve(put.header);
    }
    const lost = fence === undefined ? undefined : fenceError(fence, row);
    if (lost) return Promise.reject(lost);
    return this.notWritten(put.record, put.expectedHeadId).then((error) => Promise.reject(error));
  }

  private async exists(record: EncodedCheckpoint): Promise<boolean> {
    const found = await this.db.execute(this.sql.exists, [
      record.threadId,
      record.namespace,
      record.id,
    ]);
    return found.rowCount === 1;
  }

  /**
   * A put under a run's fence: the fence check, the head move and the insert
   * are one statement, and the run's pending request comes back with it.
   */
  private async fencedPut(
    fence: Fence,
    record: EncodedCheckpoint,
    expectedHeadId: string | null,
    params: unknown[],
    failed: unknown,
  ): Promise<void> {
    params.push(fence.runId, fence.token);
    const put = expectedHeadId === null ? this.sql.putFirstFenced : this.sql.putNextFenced;
    const state = await this.db.retrying(
      "put",
      () =>
        this.db.execute<WrittenUnderFence>(put, params).then(
          (result) => result.rows[0]!,
          (error: unknown) => {
            // Past the fence, another writer created the thread's head first: a conflict.
            if (isHeadTaken(error)) return undefined;
            throw error;
          },
        ),
      // After a connection drop the insert may have committed: look before writing again.
      async (): Promise<WrittenUnderFence | undefined> => {
        if (!(await this.exists(record))) return undefined;
        // Its pending request, if any, reaches the worker with its next heartbeat.
        return { written: 1, token: fence.token, status: "running", control: null, workerId: null };
      },
      failed,
    );
    if (state?.written === 1) return reportControl(fence, state);
    if (state !== undefined) {
      const lost = fenceError(fence, state);
      if (lost) throw lost;
    }
    throw await this.notWritten(record, expectedHeadId);
  }

  /** Why a put wrote nothing: the head moved, or the parent is gone. */
  private async notWritten(
    record: EncodedCheckpoint,
    expectedHeadId: string | null,
  ): Promise<Error> {
    const head = await this.db.query<{ id: string }>("put", this.sql.headId, [
      record.threadId,
      record.namespace,
    ]);
    const actualHeadId = head[0]?.id ?? null;
    if (actualHeadId !== expectedHeadId) {
      return new CheckpointConflictError({
        threadId: record.threadId,
        namespace: record.namespace,
        expectedHeadId,
        actualHeadId,
      });
    }
    return new CheckpointNotFoundError(
      record.threadId,
      record.namespace,
      record.parentId ?? "(none)",
    );
  }

  async putPendingWrites(
    target: CheckpointAddress,
    writes: readonly PendingWrite[],
    options: PutPendingWritesOptions = {},
  ): Promise<void> {
    assertId(target.threadId, "threadId");
    const namespace = resolveNamespace(target.namespace);
    assertId(target.checkpointId, "checkpointId");
    const encoded = encodePendingWrites(
      { threadId: target.threadId, namespace, checkpointId: target.checkpointId },
      writes,
      this.serializer,
    );
    // One row per (task, idx): the last write of a batch wins, as in every backend.
    const unique = [...new Map(encoded.map((w) => [`${w.taskId}\u0000${w.idx}`, w])).values()];
    const params = [
      target.threadId,
      namespace,
      target.checkpointId,
      unique.map((w) => w.taskId),
      unique.map((w) => w.idx),
      unique.map((w) => w.formatVersion),
      unique.map((w) => w.channel),
      unique.map((w) => w.value),
    ];
    const fence = options.fence;
    let count: number;
    if (fence === undefined) {
      count = await this.db.run("putPendingWrites", async () => {
        const result = await this.db.execute(this.sql.putPending, params);
        return result.rowCount ?? 0;
      });
    } else {
      // An upsert: written twice after a dropped connection, it holds the same rows.
      const [state] = await this.db.query<WrittenUnderFence>(
        "putPendingWrites",
        this.sql.putPendingFenced,
        [...params, fence.runId, fence.token],
      );
      const lost = fenceError(fence, state);
      if (lost) throw lost;
      count = state!.written;
      if (count > 0) reportControl(fence, state!);
    }
    if (count === 0) {
      const exists = await this.db.query("putPendingWrites", this.sql.exists, [
        target.threadId,
        namespace,
        target.checkpointId,
      ]);
      if (exists.length === 0)
        throw new CheckpointNotFoundError(target.threadId, namespace, target.checkpointId);
    }
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
    return this.db.close(() => this.group?.drained() ?? Promise.resolve());
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
