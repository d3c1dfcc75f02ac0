import type { Database, Statement } from "better-sqlite3";
import {
  RunNotFoundError,
  RunStateError,
  ThreadBusyError,
  newCheckpointId,
  type ClaimOptions,
  type ClaimedRun,
  type CreateRunRequest,
  type Fence,
  type HeartbeatResult,
  type ListRunsOptions,
  type PruneRunsOptions,
  type RunControl,
  type RunOutcome,
  type RunRecord,
  type RunStatus,
  type RunStore,
  type RunWatch,
  type SerializedError,
  type Serializer,
} from "@waypoint/checkpoint";
import {
  attemptsExhausted,
  checkClaim,
  checkCreateRequest,
  checkFence,
  checkLeaseMs,
  checkPruneRuns,
  checkRunId,
  planCreate,
  resolveListRuns,
  decodeControl,
  decodeRunRow,
  type RunRow,
  fenceError,
  parseJson,
  type FenceState,
  type RunState,
  RunWakes,
} from "@waypoint/checkpoint/backend";
import { RUN_SQL } from "./internal/schema.js";

type Statements = { readonly [K in keyof typeof RUN_SQL]: Statement };

/** A row of waypoint_runs as RUN_SQL selects it: a RunRow with error and metadata as JSON text. */
type StoredRow = Omit<RunRow, "error" | "metadata"> & {
  readonly error: string | null;
  readonly metadata: string;
};

interface Candidate {
  readonly id: string;
  readonly attempts: number;
  readonly maxAttempts: number;
}

/** Runs every operation on the checkpointer's connection: checks it is open and types SQLite's errors. */
export type Guard = <T>(operation: () => T) => T;

/**
 * The run queue of SqliteCheckpointer, in the same file as the checkpoints.
 * Every operation that changes a run is one IMMEDIATE transaction: it takes
 * SQLite's single write lock before reading, so the rules (one claim per
 * token, a thread's runs in order, the strategies) hold across every process
 * sharing the file. Rows are decoded after the transaction, to keep the lock short.
 */
export class SqliteRunStore implements RunStore {
  private readonly sql: Statements;
  /**
   * Wakes this store's workers when a run is created (or freed) through this
   * store; runs created by other processes are found by polling, since
   * SQLite cannot tell one process of another's writes.
   */
  private readonly wakes = new RunWakes();

  constructor(
    private readonly db: Database,
    private readonly serializer: Serializer,
    private readonly guard: Guard,
  ) {
    this.sql = Object.fromEntries(
      Object.entries(RUN_SQL).map(([name, text]) => [name, db.prepare(text)]),
    ) as unknown as Statements;
  }

  async create(request: CreateRunRequest): Promise<RunRecord> {
    const resolved = checkCreateRequest(request);
    const input = this.serializer.serialize(request.input, "run input", "input");
    const id = newCheckpointId();
    const row = this.write(() => {
      const active = this.sql.activeOfThread.all(resolved.threadId) as RunState[];
      const plan = planCreate(resolved.strategy, active);
      if (plan.rejectBecause) {
        const busy = plan.rejectBecause;
        throw new ThreadBusyError(resolved.threadId, busy.id, busy.status);
      }
      const now = Date.now();
      for (const { runId, status } of plan.end) this.stop(runId, status, now);
      for (const { runId, control } of plan.control) {
        this.sql.setControl.run({ id: runId, control, now });
      }
      return this.sql.insert.get({
        ...resolved,
        id,
        input,
        metadata: JSON.stringify(request.metadata ?? {}),
        now,
      }) as StoredRow;
    });
    this.wakes.notify();
    return this.record(row);
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    checkRunId(runId);
    const row = this.guard(() => this.sql.byId.get(runId)) as StoredRow | undefined;
    return row && this.record(row);
  }

  async list(options: ListRunsOptions = {}): Promise<readonly RunRecord[]> {
    const { threadId, before, statuses, limit } = resolveListRuns(options);
    const params = {
      threadId,
      statuses: statuses && JSON.stringify(statuses),
      before: before ?? "\uffff",
      limit,
    };
    const statement =
      threadId !== undefined
        ? this.sql.listByThread
        : statuses
          ? this.sql.listByStatus
          : this.sql.listAll;
    const rows = this.guard(() => statement.all(params)) as StoredRow[];
    return rows.map((row) => this.record(row));
  }

  async claim(options: ClaimOptions): Promise<ClaimedRun | undefined> {
    checkClaim(options);
    const row = this.write(() => {
      const now = Date.now();
      for (;;) {
        const pending = this.sql.oldestPending.get() as Candidate | undefined;
        const lapsed = this.sql.oldestLapsed.get(now) as Candidate | undefined;
        const oldest =
          pending && lapsed ? (pending.id < lapsed.id ? pending : lapsed) : (pending ?? lapsed);
        if (oldest === undefined) return undefined;
        if (oldest.attempts < oldest.maxAttempts) {
          return this.sql.take.get({
            id: oldest.id,
            workerId: options.workerId,
            leaseExpiresAt: now + options.leaseMs,
            now,
          }) as StoredRow;
        }
        // A run that its workers keep dying on: fail it and look further.
        this.stop(oldest.id, "failed", now, attemptsExhausted(oldest.id, oldest.maxAttempts));
      }
    });
    if (row === undefined) return undefined;
    const run = this.record(row);
    return { run, fence: { runId: run.id, token: run.token } };
  }

  async heartbeat(fence: Fence, leaseMs: number): Promise<HeartbeatResult> {
    checkFence(fence);
    checkLeaseMs(leaseMs);
    const renewed = this.write(() => {
      this.admit(fence);
      const now = Date.now();
      return this.sql.renew.get({ id: fence.runId, leaseExpiresAt: now + leaseMs, now }) as {
        leaseExpiresAt: number;
        control: string | null;
      };
    });
    return {
      leaseExpiresAt: new Date(renewed.leaseExpiresAt),
      control: decodeControl(renewed.control, `run ${fence.runId}`),
    };
  }

  async finish(fence: Fence, outcome: RunOutcome): Promise<RunRecord> {
    checkFence(fence);
    const row = this.write(() => {
      this.admit(fence);
      const now = Date.now();
      const error = outcome.status === "failed" ? outcome.error : undefined;
      return this.stop(fence.runId, outcome.status, now, error);
    });
    // The thread's next run, if any, is claimable now.
    this.wakes.notify();
    return this.record(row);
  }

  async release(fence: Fence): Promise<RunRecord> {
    checkFence(fence);
    const row = this.write(() => {
      this.admit(fence);
      return this.sql.release.get({ id: fence.runId, now: Date.now() }) as StoredRow;
    });
    this.wakes.notify();
    return this.record(row);
  }

  async cancel(runId: string): Promise<RunRecord> {
    checkRunId(runId);
    const row = this.write(() => {
      const run = this.find(runId);
      const now = Date.now();
      if (run.status === "pending" || run.status === "paused") {
        return this.stop(runId, "cancelled", now);
      }
      if (run.status === "running") return this.setControl(runId, "cancel", now);
      return run;
    });
    if (row.status === "cancelled") this.wakes.notify();
    return this.record(row);
  }

  async pause(runId: string): Promise<RunRecord> {
    checkRunId(runId);
    const row = this.write(() => {
      const run = this.find(runId);
      const now = Date.now();
      if (run.status === "pending") return this.setStatus(runId, "paused", now);
      if (run.status === "running") {
        return run.control === null ? this.setControl(runId, "pause", now) : run;
      }
      if (run.status === "paused") return run;
      throw new RunStateError(runId, run.status, "pause");
    });
    return this.record(row);
  }

  async resume(runId: string): Promise<RunRecord> {
    checkRunId(runId);
    const row = this.write(() => {
      const run = this.find(runId);
      const now = Date.now();
      if (run.status === "paused") return this.setStatus(runId, "pending", now);
      if (run.status === "running" && run.control === "pause") {
        return this.setControl(runId, null, now);
      }
      throw new RunStateError(runId, run.status, "resume");
    });
    if (row.status === "pending") this.wakes.notify();
    return this.record(row);
  }

  watch(): RunWatch {
    return this.wakes.watch();
  }

  /** Closes the watches (SqliteCheckpointer.close). */
  closeWatches(): Promise<void> {
    return this.wakes.close();
  }

  /**
   * Deletes ended runs that ended before `endedBefore`, one short IMMEDIATE
   * transaction per batch, until a batch comes up short. Between batches it
   * yields, so the write lock and the event loop are never held for long.
   */
  async prune(options: PruneRunsOptions): Promise<{ readonly deleted: number }> {
    const { cutoff, batch } = checkPruneRuns(options);
    let deleted = 0;
    for (;;) {
      const { changes } = this.write(() => this.sql.pruneBatch.run({ cutoff, batch }));
      deleted += changes;
      if (changes < batch) return { deleted };
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Checks a fence inside a write transaction of the checkpointer or of this
   * store, and returns the run's pending control request. Throws
   * LeaseLostError when the fence is stale, so that the transaction writes nothing.
   */
  admit(fence: Fence): string | null {
    const run = this.sql.fenceState.get(fence.runId) as FenceState | undefined;
    const lost = fenceError(fence, run);
    if (lost !== undefined) throw lost;
    return run!.control;
  }

  private find(runId: string): StoredRow {
    const row = this.sql.byId.get(runId) as StoredRow | undefined;
    if (row === undefined) throw new RunNotFoundError(runId);
    return row;
  }

  /** Ends a run, or pauses it: either way it drops its lease and any control request. */
  private stop(id: string, status: RunStatus, now: number, error?: SerializedError): StoredRow {
    return this.sql.stop.get({
      id,
      status,
      error: error === undefined ? null : JSON.stringify(error),
      endedAt: status === "paused" ? null : now,
      now,
    }) as StoredRow;
  }

  private setStatus(id: string, status: RunStatus, now: number): StoredRow {
    return this.sql.setStatus.get({ id, status, now }) as StoredRow;
  }

  private setControl(id: string, control: RunControl | null, now: number): StoredRow {
    return this.sql.setControl.get({ id, control, now }) as StoredRow;
  }

  private write<T>(operation: () => T): T {
    return this.guard(() => this.db.transaction(operation).immediate());
  }

  private record(row: StoredRow): RunRecord {
    const where = `run ${row.id}`;
    return decodeRunRow(
      {
        ...row,
        error: row.error === null ? null : parseJson(row.error, `${where} error`),
        metadata: parseJson(row.metadata, `${where} metadata`),
      },
      this.serializer,
    );
  }
}
