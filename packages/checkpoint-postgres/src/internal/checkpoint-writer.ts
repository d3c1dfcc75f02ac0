import type pg from "pg";
import {
  CheckpointNotFoundError,
  type CheckpointAddress,
  type CheckpointHeader,
  type Fence,
  type PendingWrite,
  type PutPendingWritesOptions,
  type PutRequest,
  type Serializer,
} from "@waypoint/checkpoint";
import {
  checkFence,
  GroupCommit,
  reportControl,
  encodePendingWrites,
  encodePut,
  type EncodedCheckpoint,
  type EncodedPendingWrite,
  type GroupCommitOptions,
  type SnapshotPolicy,
  fenceError,
  type FenceState,
  resolveAddress,
  putRefusal,
} from "@waypoint/checkpoint/backend";
import type { CheckpointStore, Database } from "./database.js";
import { batchParams, checkpointParams, pendingParams, type PutParams } from "./rows.js";
import type { Statements } from "./statements.js";

/** What a fenced write returns: how many rows it wrote, and its run as it found it. */
type WrittenUnderFence = FenceState & { readonly written: number };

/** A put as it waits for a statement: what to write (with the pending writes it carries), and what to return. */
type QueuedPut = PutParams & {
  readonly header: CheckpointHeader;
  readonly pendingWrites: EncodedPendingWrite[] | undefined;
};

/** A put's row of putBatch: whether it was written, and its run (fenced batches). */
type BatchRow = FenceState & { readonly written: boolean };

/** Whether a put's statement wrote the checkpoint: unfenced, and fenced (its row tells). */
const inserted = (result: pg.QueryResult): boolean => result.rowCount === 1;
const insertedUnderFence = (result: pg.QueryResult<WrittenUnderFence>): boolean =>
  result.rows[0]?.written === 1;

function isHeadTaken(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === "23505" && constraint === "heads_pkey";
}

/**
 * PostgresCheckpointer's write path: puts, alone or in a group commit's
 * batch, fenced or not, and pending writes. A write whose commit is
 * uncertain looks whether it landed before it is sent again.
 */
export class CheckpointWriter {
  private readonly db: Database;
  private readonly sql: Statements;
  private readonly serializer: Serializer;
  private readonly group: GroupCommit<QueuedPut, CheckpointHeader> | undefined;

  constructor(
    store: CheckpointStore,
    private readonly policy: SnapshotPolicy,
    private readonly ttlSeconds: number,
    groupCommit: GroupCommitOptions | undefined,
  ) {
    this.db = store.db;
    this.sql = store.sql;
    this.serializer = store.serializer;
    this.group =
      groupCommit &&
      new GroupCommit(groupCommit, {
        one: (put) => this.putAlone(put),
        many: (puts) => this.putMany(puts),
      });
  }

  async put(request: PutRequest): Promise<CheckpointHeader> {
    const { record, header, expectedHeadId, pendingWrites } = encodePut(
      request,
      this.serializer,
      this.policy,
    );
    const put: QueuedPut = { record, header, expectedHeadId, fence: request.fence, pendingWrites };
    const opening = this.db.opening();
    if (opening !== undefined) await opening;
    // A put with pending writes is a transaction of its own, never part of a batch.
    return this.group === undefined || pendingWrites !== undefined
      ? this.putAlone(put)
      : this.group.submit(record.threadId, put);
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
      await this.fencedPut(put, put.fence, params, failed);
      return put.header;
    }
    const statement = expectedHeadId === null ? this.sql.putFirst : this.sql.putNext;
    const written = await this.db.retrying(
      "put",
      () =>
        (put.pendingWrites === undefined
          ? this.db.execute(statement, params)
          : this.withPending(record, put.pendingWrites, statement, params, inserted)
        ).then(inserted, (error: unknown) => {
          // Another writer created the thread's head first: a conflict, told below.
          if (isHeadTaken(error)) return false;
          throw error;
        }),
      // After a connection drop the insert may have committed: look before writing again.
      () => this.exists(record),
      failed,
    );
    if (written) return put.header;
    throw await this.notWritten(record, expectedHeadId);
  }

  /**
   * A put's statement and its pending writes' upsert, in one transaction:
   * the upsert runs only if `written` says the checkpoint was (in the same
   * transaction, it finds it); else nothing is written.
   */
  private withPending<Row extends object>(
    record: EncodedCheckpoint,
    pendingWrites: readonly EncodedPendingWrite[],
    statement: string,
    params: unknown[],
    written: (result: pg.QueryResult<Row>) => boolean,
  ): Promise<pg.QueryResult<Row>> {
    const { threadId, namespace, id } = record;
    return this.db.inTransaction(async (client) => {
      const result = await this.db.execute<Row>(statement, params, client);
      if (written(result)) {
        const pending = pendingParams(threadId, namespace, id, pendingWrites);
        await this.db.execute(this.sql.putPending, pending, client);
      }
      return result;
    });
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
      if (fence !== undefined) reportControl(fence, row.control);
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
   * The fence's row lock holds until the commit, over any pending writes.
   */
  private async fencedPut(
    put: QueuedPut,
    fence: Fence,
    params: unknown[],
    failed: unknown,
  ): Promise<void> {
    const { record, expectedHeadId } = put;
    params.push(fence.runId, fence.token);
    const statement = expectedHeadId === null ? this.sql.putFirstFenced : this.sql.putNextFenced;
    const state = await this.db.retrying(
      "put",
      () =>
        (put.pendingWrites === undefined
          ? this.db.execute<WrittenUnderFence>(statement, params)
          : this.withPending(record, put.pendingWrites, statement, params, insertedUnderFence)
        ).then(
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
    if (state?.written === 1) return reportControl(fence, state.control);
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
    return putRefusal(record, expectedHeadId, head[0]?.id ?? null);
  }

  async putPendingWrites(
    target: CheckpointAddress,
    writes: readonly PendingWrite[],
    options: PutPendingWritesOptions = {},
  ): Promise<void> {
    const address = resolveAddress(target);
    const { namespace } = address;
    if (options.fence !== undefined) checkFence(options.fence);
    const encoded = encodePendingWrites(address, writes, this.serializer);
    const params = pendingParams(target.threadId, namespace, target.checkpointId, encoded);
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
      if (count > 0) reportControl(fence, state!.control);
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

  /** Resolves once no put waits for a batch and none is on the wire. */
  drained(): Promise<void> {
    return this.group?.drained() ?? Promise.resolve();
  }
}
