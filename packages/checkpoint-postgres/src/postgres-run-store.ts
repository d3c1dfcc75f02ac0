import { randomUUID } from "node:crypto";
import {
  LeaseLostError,
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
  decodeControl,
  decodeRunRow,
  planCreate,
  resolveListRuns,
  type RunRow,
  fenceError,
  type FenceState,
  type RunWakes,
} from "@waypoint/checkpoint/backend";
import type { Connection } from "./internal/database.js";
import type { RunStatements } from "./internal/run-statements.js";

/** The claim's answer: the run taken, or (its columns null) a candidate past its attempts. */
type ClaimRow = { readonly candidateId: string; readonly candidateMaxAttempts: number } & (
  RunRow | { readonly id: null }
);

/**
 * The run queue of PostgresCheckpointer, in the checkpointer's schema.
 * A claim is one statement (`FOR UPDATE SKIP LOCKED`, so workers never wait
 * on each other); a create is one short transaction under a per-thread
 * advisory lock, so the strategy sees every run of the thread; control
 * requests are single conditional UPDATEs. Every time is the database's.
 * A change that may make a run claimable NOTIFYs the schema's channel in its
 * own transaction, and idle workers LISTENing there claim at once.
 */
export class PostgresRunStore implements RunStore {
  constructor(
    private readonly db: Connection,
    private readonly sql: RunStatements,
    private readonly serializer: Serializer,
    private readonly schema: string,
    /** Woken by NOTIFY on the schema's channel (internal/run-listener.ts). */
    private readonly wakes: RunWakes,
  ) {}

  /** Wakes when a run may have become claimable, in any process (LISTEN/NOTIFY). */
  watch(): RunWatch {
    return this.wakes.watch();
  }

  async create(request: CreateRunRequest): Promise<RunRecord> {
    const resolved = checkCreateRequest(request);
    const input = this.serializer.serialize(request.input, "run input", "input");
    const metadata = JSON.stringify(request.metadata ?? {});
    let id: string | undefined;
    const row = await this.db.transaction(
      "runs.create",
      async (client) => {
        await this.db.send(this.sql.lockThreadAndWake, [this.schema, resolved.threadId], client);
        const thread = await this.db.send<{
          id: string;
          status: RunStatus;
          control: RunControl | null;
          active: boolean;
        }>(this.sql.threadForCreate, [resolved.threadId], client);
        const plan = planCreate(
          resolved.strategy,
          thread.filter((run) => run.active),
        );
        if (plan.rejectBecause) {
          const busy = plan.rejectBecause;
          throw new ThreadBusyError(resolved.threadId, busy.id, busy.status);
        }
        // After the thread's newest run even if this host's clock is behind: a thread's runs are claimed in id order.
        id = newCheckpointId(thread[thread.length - 1]?.id);
        const [inserted] = await this.db.send<RunRow>(
          this.sql.insert,
          [
            id,
            resolved.threadId,
            resolved.graph,
            input,
            resolved.strategy,
            resolved.maxAttempts,
            metadata,
            plan.end.map((end) => end.runId),
            plan.end.map((end) => end.status),
            plan.control.map((request) => request.runId),
            plan.control.map((request) => request.control),
          ],
          client,
        );
        return inserted!;
      },
      async () => (id === undefined ? undefined : this.row(id)),
    );
    return this.record(row);
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    checkRunId(runId);
    const row = await this.db.run("runs.get", () => this.row(runId));
    return row && this.record(row);
  }

  async list(options: ListRunsOptions = {}): Promise<readonly RunRecord[]> {
    const { threadId, statuses, limit, ...resolved } = resolveListRuns(options);
    const before = resolved.before ?? "\uffff";
    const rows = await this.db.run("runs.list", () =>
      threadId !== undefined
        ? this.db.send<RunRow>(this.sql.listByThread, [threadId, statuses ?? null, before, limit])
        : statuses
          ? this.db.send<RunRow>(this.sql.listByStatus, [statuses, before, limit])
          : this.db.send<RunRow>(this.sql.listAll, [before, limit]),
    );
    return rows.map((row) => this.record(row));
  }

  async claim(options: ClaimOptions): Promise<ClaimedRun | undefined> {
    checkClaim(options);
    for (let collisions = 0; ;) {
      // Names this claim, so that one whose commit is unknown can be found rather than repeated.
      const claimId = randomUUID();
      let row: ClaimRow | undefined;
      try {
        row = await this.db.run(
          "runs.claim",
          async () =>
            (
              await this.db.send<ClaimRow>(this.sql.claim, [
                options.workerId,
                options.leaseMs,
                claimId,
              ])
            )[0],
          async () => {
            const [taken] = await this.db.send<RunRow>(this.sql.claimedBy, [claimId]);
            return taken && { ...taken, candidateId: taken.id, candidateMaxAttempts: 0 };
          },
        );
      } catch (error) {
        // Two claims took two runs of one thread at once: runs_one_running let one
        // commit and failed this one, which wrote nothing. Look again.
        if (isSecondRunningRun(error) && ++collisions < 10) continue;
        throw error;
      }
      if (row === undefined) return undefined;
      if (row.id !== null) {
        const run = this.record(row);
        return { run, fence: { runId: run.id, token: run.token } };
      }
      // A run its workers keep dying on: fail it and look further.
      const exhausted = attemptsExhausted(row.candidateId, row.candidateMaxAttempts);
      await this.db.run("runs.claim", () =>
        this.db.send(this.sql.failExhausted, [row.candidateId, JSON.stringify(exhausted)]),
      );
    }
  }

  async heartbeat(fence: Fence, leaseMs: number): Promise<HeartbeatResult> {
    checkFence(fence);
    checkLeaseMs(leaseMs);
    // Renewing twice is harmless: a retry needs no check.
    const [renewed] = await this.db.run("runs.heartbeat", () =>
      this.db.send<{ leaseExpiresAt: number; control: string | null }>(this.sql.renew, [
        fence.runId,
        fence.token,
        leaseMs,
      ]),
    );
    if (renewed === undefined) throw await this.lost(fence);
    return {
      leaseExpiresAt: new Date(renewed.leaseExpiresAt),
      control: decodeControl(renewed.control, `run ${fence.runId}`),
    };
  }

  finish(fence: Fence, outcome: RunOutcome): Promise<RunRecord> {
    const error = outcome.status === "failed" ? JSON.stringify(outcome.error) : null;
    return this.fencedUpdate("runs.finish", fence, outcome.status, this.sql.finish, [
      outcome.status,
      error,
    ]);
  }

  release(fence: Fence): Promise<RunRecord> {
    return this.fencedUpdate("runs.release", fence, "pending", this.sql.release, []);
  }

  async cancel(runId: string): Promise<RunRecord> {
    checkRunId(runId);
    const [row] = await this.db.run("runs.cancel", () =>
      this.db.send<RunRow>(this.sql.cancel, [runId]),
    );
    // Not matched: ended (returned unchanged) or missing.
    return this.record(row ?? (await this.find(runId)));
  }

  async pause(runId: string): Promise<RunRecord> {
    checkRunId(runId);
    const [row] = await this.db.run("runs.pause", () =>
      this.db.send<RunRow>(this.sql.pause, [runId]),
    );
    if (row !== undefined) return this.record(row);
    const ended = await this.find(runId);
    throw new RunStateError(runId, ended.status, "pause");
  }

  async resume(runId: string): Promise<RunRecord> {
    checkRunId(runId);
    const [row] = await this.db.run("runs.resume", () =>
      this.db.send<RunRow>(this.sql.resume, [runId]),
    );
    if (row !== undefined) return this.record(row);
    const other = await this.find(runId);
    throw new RunStateError(runId, other.status, "resume");
  }

  /**
   * Deletes ended runs that ended before the cutoff, `batch` per statement
   * (each short, so that the queue is never held up for long), until a
   * batch comes back short. A batch repeated after a lost connection only
   * deletes what is still due, so a retry is safe; the count then misses a
   * batch that committed unseen.
   */
  async prune(options: PruneRunsOptions): Promise<{ readonly deleted: number }> {
    const { cutoff, batch } = checkPruneRuns(options);
    let deleted = 0;
    for (;;) {
      const [gone] = await this.db.run("runs.prune", () =>
        this.db.send<{ deleted: number }>(this.sql.prune, [cutoff, batch]),
      );
      const count = gone?.deleted ?? 0;
      deleted += count;
      if (count < batch) return { deleted };
    }
  }

  /**
   * Ends, pauses or releases a claimed run if its fence holds. After an
   * error that may have committed, the run is looked at first: in `status`
   * under the same token means this call did it.
   */
  private async fencedUpdate(
    operation: string,
    fence: Fence,
    status: RunStatus,
    text: string,
    values: unknown[],
  ): Promise<RunRecord> {
    checkFence(fence);
    const row = await this.db.run(
      operation,
      async () => (await this.db.send<RunRow>(text, [fence.runId, fence.token, ...values]))[0],
      async () =>
        (await this.db.send<RunRow>(this.sql.finished, [fence.runId, fence.token, status]))[0],
    );
    if (row === undefined) throw await this.lost(fence);
    return this.record(row);
  }

  /** Why a fence no longer holds, read after a fenced statement matched nothing. */
  private async lost(fence: Fence): Promise<LeaseLostError> {
    const [state] = await this.db.run("runs.fence", () =>
      this.db.send<FenceState>(this.sql.fenceState, [fence.runId]),
    );
    return (
      fenceError(fence, state) ??
      new LeaseLostError(fence.runId, fence.token, "the run changed while it was written")
    );
  }

  private async row(runId: string): Promise<RunRow | undefined> {
    return (await this.db.send<RunRow>(this.sql.byId, [runId]))[0];
  }

  private async find(runId: string): Promise<RunRow> {
    const row = await this.db.run("runs.get", () => this.row(runId));
    if (row === undefined) throw new RunNotFoundError(runId);
    return row;
  }

  private record(row: RunRow): RunRecord {
    return decodeRunRow(row, this.serializer);
  }
}

function isSecondRunningRun(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === "23505" && constraint === "runs_one_running";
}
