import BetterSqlite3, { type Database, type Statement, type Transaction } from "better-sqlite3";
import {
  CheckpointNotFoundError,
  CheckpointerClosedError,
  StorageUnavailableError,
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
  decodePendingWrite,
  sortPending,
  checkMetadataFilter,
  checkFence,
  ANCHOR_EVERY,
  anchorOf,
  assertId,
  checkPruneOptions,
  decodeLoaded,
  headerDecoder,
  encodePendingWrites,
  encodePut,
  listThreadPage,
  matchesFilter,
  pruneSelection,
  resolveLimit,
  resolveNamespace,
  resolveSnapshotPolicy,
  validateThreadExport,
  type EncodedCheckpoint,
  type EncodedLink,
  type EncodedHeader,
  type EncodedPendingWrite,
  type PruneCandidate,
  type ThreadHead,
  type SnapshotPolicy,
  reportControl,
  resolveAddress,
  putRefusal,
  threadExport,
} from "@waypoint/checkpoint/backend";
import { DatabaseCorruptError } from "./errors.js";
import { createDatabaseFile, isUnusableFile, unusablePath } from "./internal/files.js";
import { headerLinks } from "./internal/header-links.js";
import { checkArguments } from "./internal/options.js";
import { SQL, migrate } from "./internal/schema.js";
import { SqliteRunStore } from "./sqlite-run-store.js";

/**
 * The file a SqliteCheckpointer opens when given none, relative to the working directory; created
 * with its folder if missing.
 */
export const DEFAULT_DATABASE_FILE = ".waypoint/checkpoints.db";

/**
 * Settings of a SqliteCheckpointer: those of every backend, plus durability on power loss and the
 * wait for the write lock.
 */
export interface SqliteCheckpointerOptions extends CheckpointerOptions {
  /**
   * `"FULL"` (the default) fsyncs the write-ahead log on every commit: a
   * checkpoint whose `put` returned survives a power loss. `"NORMAL"` skips that
   * fsync: a checkpoint survives a crash or kill of the process, but the last
   * commits can be lost if the machine loses power. Effects stay deduplicated
   * downstream either way, because their idempotency keys are deterministic.
   */
  readonly synchronous?: "FULL" | "NORMAL";
  /**
   * How long a writer waits for another connection's write lock (default
   * 5000 ms); past it, the call fails with STORAGE_UNAVAILABLE.
   */
  readonly busyTimeoutMs?: number;
}

type Statements = { readonly [K in keyof typeof SQL]: Statement };

const PAGE_SIZE = 100;
const DELETE_BATCH = 500;

/**
 * The embedded durable checkpointer: one SQLite file in WAL mode. Several
 * processes may share the file; SQLite's write lock serialises their writes
 * and each superstep is one short IMMEDIATE transaction.
 */
export class SqliteCheckpointer implements Checkpointer {
  readonly file: string;
  private readonly db: Database;
  private readonly ownsDatabase: boolean;
  readonly serializer: Serializer;
  private readonly policy: SnapshotPolicy;
  private readonly sql: Statements;
  private readonly runStore: SqliteRunStore;
  /**
   * Bound once: a batch of pending writes is one IMMEDIATE transaction, and so
   * is a put that is fenced or carries pending writes.
   */
  private readonly transactions: {
    readonly putPendingWrites: Transaction<
      (
        address: CheckpointAddress & { namespace: string },
        writes: EncodedPendingWrite[],
        fence: Fence | undefined,
      ) => string | null
    >;
    readonly put: Transaction<
      (
        fence: Fence | undefined,
        record: EncodedCheckpoint,
        expectedHeadId: string | null,
        pendingWrites: EncodedPendingWrite[] | undefined,
      ) => string | null
    >;
  };
  private closed = false;

  constructor(
    database: string | Database = DEFAULT_DATABASE_FILE,
    options: SqliteCheckpointerOptions = {},
  ) {
    checkArguments(database, options);
    this.serializer = options.serializer ?? createSerializer();
    this.policy = resolveSnapshotPolicy(options.snapshots);
    this.ownsDatabase = typeof database === "string";
    this.file = typeof database === "string" ? database : database.name;
    if (typeof database === "string") createDatabaseFile(database);
    const db = typeof database === "string" ? openDatabase(database) : database;
    this.db = db;
    try {
      this.translate(() => {
        const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
        db.pragma(`busy_timeout = ${busyTimeoutMs}`);
        try {
          enableWal(db, busyTimeoutMs);
        } catch (error) {
          // A file it may read but not write (read-only file system, no permission).
          throw isUnusableFile(error) ? unusablePath(this.file, error) : error;
        }
        db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
        migrate(db, this.file);
      });
      this.sql = Object.fromEntries(
        Object.entries(SQL).map(([name, text]) => [name, db.prepare(text)]),
      ) as unknown as Statements;
      this.runStore = new SqliteRunStore(db, this.serializer, (operation) => {
        this.assertOpen();
        return this.translate(operation);
      });
      this.transactions = {
        putPendingWrites: db.transaction(
          (
            address: CheckpointAddress & { namespace: string },
            writes: EncodedPendingWrite[],
            fence: Fence | undefined,
          ) => {
            // Checked before writing: a stale fence throws and the transaction writes nothing.
            const control = fence === undefined ? null : this.runStore.admit(fence);
            this.writePending(address, writes);
            return control;
          },
        ),
        put: db.transaction(
          (
            fence: Fence | undefined,
            record: EncodedCheckpoint,
            expectedHeadId: string | null,
            pendingWrites: EncodedPendingWrite[] | undefined,
          ) => {
            const control = fence === undefined ? null : this.runStore.admit(fence);
            this.writeCheckpoint(record, expectedHeadId);
            // The checkpoint was just written: no need to look for it, as writePending does.
            if (pendingWrites !== undefined)
              for (const write of pendingWrites) this.sql.upsertPending.run(write);
            return control;
          },
        ),
      };
    } catch (error) {
      if (this.ownsDatabase) db.close();
      throw error;
    }
  }

  /** The run queue, in the same file: claims, leases and the fences checked by `put`. */
  get runs(): RunStore {
    return this.runStore;
  }

  async put(request: PutRequest): Promise<CheckpointHeader> {
    this.assertOpen();
    const { record, header, expectedHeadId, pendingWrites } = encodePut(
      request,
      this.serializer,
      this.policy,
    );
    const fence = request.fence;
    if (fence === undefined && pendingWrites === undefined) {
      // Unfenced and without pending writes, a put stays one autocommit statement.
      this.translate(() => this.writeCheckpoint(record, expectedHeadId));
    } else {
      const control = this.translate(() =>
        this.transactions.put.immediate(fence, record, expectedHeadId, pendingWrites),
      );
      if (fence !== undefined) reportControl(fence, control);
    }
    return header;
  }

  private writeCheckpoint(record: EncodedCheckpoint, expectedHeadId: string | null): void {
    if (this.sql.putCheckpoint.run({ ...record, expectedHeadId }).changes === 1) return;
    // Nothing was written; find out why, for the error.
    const head = this.sql.headId.get(record.threadId, record.namespace) as
      { id: string } | undefined;
    throw putRefusal(record, expectedHeadId, head?.id ?? null);
  }

  private writePending(
    address: CheckpointAddress & { namespace: string },
    writes: EncodedPendingWrite[],
  ): void {
    if (!this.exists(address, address.checkpointId)) {
      throw new CheckpointNotFoundError(address.threadId, address.namespace, address.checkpointId);
    }
    for (const write of writes) this.sql.upsertPending.run(write);
  }

  async putPendingWrites(
    target: CheckpointAddress,
    writes: readonly PendingWrite[],
    options: PutPendingWritesOptions = {},
  ): Promise<void> {
    this.assertOpen();
    const address = resolveAddress(target);
    if (options.fence !== undefined) checkFence(options.fence);
    const encoded = encodePendingWrites(address, writes, this.serializer);
    const control = this.translate(() =>
      this.transactions.putPendingWrites.immediate(address, encoded, options.fence),
    );
    if (options.fence !== undefined) reportControl(options.fence, control);
  }

  async getPendingWrites(address: CheckpointAddress): Promise<PendingWrite[]> {
    this.assertOpen();
    const { threadId, namespace, checkpointId } = resolveAddress(address);
    const rows = this.translate(
      () => this.sql.pending.all(threadId, namespace, checkpointId) as EncodedPendingWrite[],
    );
    return sortPending(rows).map((row) => decodePendingWrite(row, this.serializer));
  }

  async get(threadId: string, options: GetOptions = {}): Promise<LoadedCheckpoint | undefined> {
    this.assertOpen();
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    const id = options.checkpointId;
    if (id !== undefined) assertId(id, "checkpointId");
    const rows = this.translate(() =>
      this.db.transaction(() => {
        const target = (
          id === undefined
            ? this.sql.head.get(threadId, namespace)
            : this.sql.byId.get(threadId, namespace, id)
        ) as EncodedCheckpoint | undefined;
        if (target === undefined) return undefined;
        const segment = this.sql.segment.all({
          ...target,
          anchor: anchorOf(target.chainLength),
        }) as EncodedLink[];
        const pending = this.sql.pending.all(
          threadId,
          namespace,
          target.id,
        ) as EncodedPendingWrite[];
        return { target, segment, pending };
      })(),
    );
    if (rows === undefined) {
      if (id === undefined) return undefined;
      throw new CheckpointNotFoundError(threadId, namespace, id);
    }
    return decodeLoaded(rows.target, [...rows.segment, rows.target], rows.pending, this.serializer);
  }

  async *list(threadId: string, options: ListOptions = {}): AsyncIterable<CheckpointHeader> {
    this.assertOpen();
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
    // "\uffff" sorts after every id, so the first page starts at the newest.
    let before = options.before ?? "\uffff";
    let yielded = 0;
    while (yielded < limit) {
      this.assertOpen();
      const rows = this.translate(() =>
        this.sql.listPage.all(threadId, namespace, before, PAGE_SIZE + ANCHOR_EVERY - 1),
      ) as EncodedHeader[];
      const page = rows.slice(0, PAGE_SIZE);
      // The rows after the page hold the older records its delta headers decode from.
      const links = this.translate(() =>
        headerLinks(
          page,
          rows,
          (id) => this.sql.headerRow.get(threadId, namespace, id) as EncodedHeader | undefined,
        ),
      );
      const decodeHeader = headerDecoder(links, this.serializer);
      for (const record of page) {
        const header = decodeHeader(record);
        if (!matchesFilter(header.metadata, options.filter)) continue;
        yield header;
        if (++yielded >= limit) return;
      }
      if (page.length < PAGE_SIZE) return;
      before = page[page.length - 1]!.id;
    }
  }

  async listNamespaces(threadId: string): Promise<string[]> {
    this.assertOpen();
    assertId(threadId, "threadId");
    const rows = this.translate(() => this.sql.namespaces.all(threadId) as { namespace: string }[]);
    return rows.map((row) => row.namespace).sort();
  }

  async listThreads(options: ListThreadsOptions = {}): Promise<ThreadPage> {
    this.assertOpen();
    return listThreadPage(options, (after) =>
      this.translate(() =>
        this.db.transaction(() => {
          // A skip scan over the primary key: one index seek per thread.
          const heads: ThreadHead[] = [];
          let cursor = after;
          for (let scanned = 0; scanned < PAGE_SIZE; scanned += 1) {
            const next = this.sql.nextThread.get(cursor) as { threadId: string } | undefined;
            if (next === undefined) return { heads, last: undefined };
            cursor = next.threadId;
            const head = this.sql.rootHead.get(cursor) as
              { id: string; step: number; createdAt: number; nextCount: number } | undefined;
            if (head === undefined) continue;
            const channels = this.sql.pendingChannels.all(cursor, head.id) as { channel: string }[];
            heads.push({
              threadId: cursor,
              headId: head.id,
              step: head.step,
              createdAt: head.createdAt,
              nextCount: head.nextCount,
              pendingChannels: channels.map((row) => row.channel),
            });
          }
          return { heads, last: cursor };
        })(),
      ),
    );
  }

  async deleteThread(threadId: string): Promise<boolean> {
    this.assertOpen();
    assertId(threadId, "threadId");
    return this.translate(() =>
      this.db
        .transaction(() => {
          this.sql.deletePending.run(threadId);
          return this.sql.deleteCheckpoints.run(threadId).changes > 0;
        })
        .immediate(),
    );
  }

  async prune(options: PruneOptions): Promise<PruneResult> {
    this.assertOpen();
    checkPruneOptions(options);
    const namespaces = this.translate(() =>
      options.threadId === undefined
        ? this.sql.allNamespaces.all()
        : this.sql.namespaces.all(options.threadId),
    ) as { threadId: string; namespace: string }[];
    let deleted = 0;
    for (const { threadId, namespace } of namespaces) {
      // One namespace at a time, in short transactions, so writers are never held up for long.
      const doomed = this.translate(() =>
        this.db.transaction(() => {
          const candidates = this.sql.pruneCandidates.all(threadId, namespace) as PruneCandidate[];
          const head = this.sql.headId.get(threadId, namespace) as { id: string } | undefined;
          return head === undefined ? [] : pruneSelection(candidates, head.id, options);
        })(),
      );
      for (let start = 0; start < doomed.length; start += DELETE_BATCH) {
        const batch = doomed.slice(start, start + DELETE_BATCH);
        this.translate(() =>
          this.db
            .transaction(() => {
              for (const id of batch) {
                this.sql.deleteOnePending.run(threadId, namespace, id);
                deleted += this.sql.deleteOne.run(threadId, namespace, id).changes;
              }
            })
            .immediate(),
        );
      }
    }
    return { deleted };
  }

  async copyThread(fromThreadId: string, toThreadId: string): Promise<void> {
    this.assertOpen();
    assertId(fromThreadId, "fromThreadId");
    assertId(toThreadId, "toThreadId");
    this.translate(() =>
      this.db
        .transaction(() => {
          if (this.sql.threadExists.get(fromThreadId) === undefined)
            throw new ThreadNotFoundError(fromThreadId);
          if (this.sql.threadExists.get(toThreadId) !== undefined)
            throw new ThreadExistsError(toThreadId);
          this.sql.copyCheckpoints.run({ from: fromThreadId, to: toThreadId });
          this.sql.copyPending.run({ from: fromThreadId, to: toThreadId });
        })
        .immediate(),
    );
  }

  async exportThread(threadId: string): Promise<ThreadExport> {
    this.assertOpen();
    assertId(threadId, "threadId");
    const { checkpoints, pendingWrites } = this.translate(() =>
      this.db.transaction(() => ({
        checkpoints: this.sql.exportCheckpoints.all(threadId) as EncodedCheckpoint[],
        pendingWrites: this.sql.exportPending.all(threadId) as EncodedPendingWrite[],
      }))(),
    );
    return threadExport(threadId, checkpoints, pendingWrites);
  }

  async importThread(data: ThreadExport): Promise<void> {
    this.assertOpen();
    const valid = validateThreadExport(data, this.serializer);
    this.translate(() =>
      this.db
        .transaction(() => {
          if (this.sql.threadExists.get(valid.threadId) !== undefined)
            throw new ThreadExistsError(valid.threadId);
          for (const record of valid.checkpoints) this.sql.insertCheckpoint.run(record);
          for (const write of valid.pendingWrites) this.sql.upsertPending.run(write);
        })
        .immediate(),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runStore.closeWatches();
    if (this.ownsDatabase) this.db.close();
  }

  private exists(address: { threadId: string; namespace: string }, id: string): boolean {
    return this.sql.exists.get(address.threadId, address.namespace, id) !== undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new CheckpointerClosedError(`SqliteCheckpointer(${this.file})`);
  }

  /**
   * SQLite's own corruption errors become a typed DatabaseCorruptError, and
   * SQLITE_BUSY (another connection held the write lock past the busy
   * timeout) the retryable STORAGE_UNAVAILABLE.
   */
  private translate<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && code.startsWith("SQLITE_BUSY"))
        throw new StorageUnavailableError(`SQLite (${this.file})`, "the write lock", 1, error);
      if (
        typeof code === "string" &&
        (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB")
      ) {
        throw new DatabaseCorruptError(this.file, error);
      }
      throw error;
    }
  }
}

/** Opens a file, naming the path if SQLite cannot open it. */
function openDatabase(path: string): Database {
  try {
    return new BetterSqlite3(path);
  } catch (error) {
    throw isUnusableFile(error) ? unusablePath(path, error) : error;
  }
}

/**
 * Switches the file to WAL. Two processes opening a new file at once can both
 * try; SQLite then answers one of them SQLITE_BUSY at once, without waiting
 * on busy_timeout (the switch needs the file to itself), so the switch is
 * tried again until it takes or `timeoutMs` has passed.
 */
function enableWal(db: Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      const busy = (error as { code?: unknown }).code === "SQLITE_BUSY";
      if (!busy || Date.now() >= deadline) throw error;
      // A constructor cannot await: wait 5 ms on a lock nobody will release.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}
