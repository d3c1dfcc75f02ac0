import type { Database, Statement } from "better-sqlite3";
import {
  CorruptRecordError,
  LeaseLostError,
  RUN_STATUSES,
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
  type RunControl,
  type RunOutcome,
  type RunRecord,
  type RunStatus,
  type RunStore,
  type SerializedError,
  type Serializer,
} from "@waypoint/checkpoint";
import {
  attemptsExhausted,
  checkCreateRequest,
  checkLeaseMs,
  planCreate,
  resolveLimit,
  resolveStatusFilter,
  type RunState,
} from "@waypoint/checkpoint/backend";
import { RUN_SQL } from "./internal/schema.js";

type Statements = { readonly [K in keyof typeof RUN_SQL]: Statement };

/** A row of waypoint_runs as RUN_SQL selects it: times in ms, input serialized, error and metadata JSON. */
interface RunRow {
  readonly id: string;
  readonly threadId: string;
  readonly graph: string;
  readonly input: string;
  readonly status: string;
  readonly strategy: RunRecord["strategy"];
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly token: number;
  readonly workerId: string | null;
  readonly leaseExpiresAt: number | null;
  readonly control: RunControl | null;
  readonly error: string | null;
  readonly metadata: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
}

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
      }) as RunRow;
    });
    return this.record(row);
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const row = this.guard(() => this.sql.byId.get(runId)) as RunRow | undefined;
    return row && this.record(row);
  }

  async list(options: ListRunsOptions = {}): Promise<readonly RunRecord[]> {
    const statuses = resolveStatusFilter(options.status);
    const params = {
      threadId: options.threadId,
      statuses: statuses && JSON.stringify(statuses),
      before: options.before ?? "\uffff",
      limit: resolveLimit(options.limit, "limit", 100, 1000),
    };
    const statement =
      options.threadId !== undefined
        ? this.sql.listByThread
        : statuses
          ? this.sql.listByStatus
          : this.sql.listAll;
    const rows = this.guard(() => statement.all(params)) as RunRow[];
    return rows.map((row) => this.record(row));
  }

  async claim(options: ClaimOptions): Promise<ClaimedRun | undefined> {
    checkLeaseMs(options.leaseMs);
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
          }) as RunRow;
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
    checkLeaseMs(leaseMs);
    const renewed = this.write(() => {
      this.admit(fence);
      const now = Date.now();
      return this.sql.renew.get({ id: fence.runId, leaseExpiresAt: now + leaseMs, now }) as {
        leaseExpiresAt: number;
        control: RunControl | null;
      };
    });
    return { leaseExpiresAt: new Date(renewed.leaseExpiresAt), control: renewed.control };
  }

  async finish(fence: Fence, outcome: RunOutcome): Promise<RunRecord> {
    const row = this.write(() => {
      this.admit(fence);
      const now = Date.now();
      const error = outcome.status === "failed" ? outcome.error : undefined;
      return this.stop(fence.runId, outcome.status, now, error);
    });
    return this.record(row);
  }

  async release(fence: Fence): Promise<RunRecord> {
    const row = this.write(() => {
      this.admit(fence);
      return this.sql.release.get({ id: fence.runId, now: Date.now() }) as RunRow;
    });
    return this.record(row);
  }

  async cancel(runId: string): Promise<RunRecord> {
    const row = this.write(() => {
      const run = this.find(runId);
      const now = Date.now();
      if (run.status === "pending" || run.status === "paused") {
        return this.stop(runId, "cancelled", now);
      }
      if (run.status === "running") return this.setControl(runId, "cancel", now);
      return run;
    });
    return this.record(row);
  }

  async pause(runId: string): Promise<RunRecord> {
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
    const row = this.write(() => {
      const run = this.find(runId);
      const now = Date.now();
      if (run.status === "paused") return this.setStatus(runId, "pending", now);
      if (run.status === "running" && run.control === "pause") {
        return this.setControl(runId, null, now);
      }
      throw new RunStateError(runId, run.status, "resume");
    });
    return this.record(row);
  }

  /**
   * Checks a fence inside a write transaction of the checkpointer or of this
   * store, and returns the run's pending control request. Throws
   * LeaseLostError when the fence is stale, so that the transaction writes nothing.
   */
  admit(fence: Fence): RunControl | null {
    const run = this.sql.fenceState.get(fence.runId) as
      Pick<RunRow, "token" | "status" | "workerId" | "control"> | undefined;
    const lost = (problem: string) => new LeaseLostError(fence.runId, fence.token, problem);
    if (run === undefined) throw lost("there is no such run");
    if (run.token !== fence.token) {
      const by = run.workerId === null ? "" : ` by worker ${run.workerId}`;
      throw lost(`the run was claimed again${by} (token ${run.token})`);
    }
    if (run.status === "pending") throw lost("the run was released back to the queue");
    if (run.status !== "running") {
      throw lost(`the run is ${run.status}, no longer running`);
    }
    return run.control;
  }

  private find(runId: string): RunRow {
    const row = this.sql.byId.get(runId) as RunRow | undefined;
    if (row === undefined) throw new RunNotFoundError(runId);
    return row;
  }

  /** Ends a run, or pauses it: either way it drops its lease and any control request. */
  private stop(id: string, status: RunStatus, now: number, error?: SerializedError): RunRow {
    return this.sql.stop.get({
      id,
      status,
      error: error === undefined ? null : JSON.stringify(error),
      endedAt: status === "paused" ? null : now,
      now,
    }) as RunRow;
  }

  private setStatus(id: string, status: RunStatus, now: number): RunRow {
    return this.sql.setStatus.get({ id, status, now }) as RunRow;
  }

  private setControl(id: string, control: RunControl | null, now: number): RunRow {
    return this.sql.setControl.get({ id, control, now }) as RunRow;
  }

  private write<T>(operation: () => T): T {
    return this.guard(() => this.db.transaction(operation).immediate());
  }

  private record(row: RunRow): RunRecord {
    const where = `run ${row.id}`;
    if (!RUN_STATUSES.includes(row.status as RunStatus)) {
      throw new CorruptRecordError(where, `unknown status ${JSON.stringify(row.status)}`);
    }
    const date = (ms: number | null) => (ms === null ? null : new Date(ms));
    return {
      id: row.id,
      threadId: row.threadId,
      graph: row.graph,
      input: this.serializer.deserialize(row.input, `${where} input`),
      status: row.status as RunStatus,
      strategy: row.strategy,
      attempts: row.attempts,
      maxAttempts: row.maxAttempts,
      token: row.token,
      workerId: row.workerId,
      leaseExpiresAt: date(row.leaseExpiresAt),
      control: row.control,
      error:
        row.error === null ? null : (parseJson(row.error, `${where} error`) as SerializedError),
      metadata: parseJson(row.metadata, `${where} metadata`) as RunRecord["metadata"],
      createdAt: new Date(row.createdAt),
      updatedAt: new Date(row.updatedAt),
      startedAt: date(row.startedAt),
      endedAt: date(row.endedAt),
    };
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CorruptRecordError(where, "not valid JSON", error);
  }
}
