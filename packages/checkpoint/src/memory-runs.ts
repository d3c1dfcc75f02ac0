import { newCheckpointId } from "./checkpoint-id.js";
import { RunNotFoundError, RunStateError, ThreadBusyError } from "./errors.js";
import { atomically } from "./internal/atomic.js";
import { fenceError } from "./internal/run-row.js";
import { RunWakes } from "./internal/run-wakes.js";
import {
  attemptsExhausted,
  checkClaim,
  checkCreateRequest,
  checkFence,
  checkLeaseMs,
  checkPruneRuns,
  checkRunId,
  isActive,
  planCreate,
  resolveListRuns,
} from "./internal/run-rules.js";
import type {
  ClaimOptions,
  ClaimedRun,
  CreateRunRequest,
  Fence,
  HeartbeatResult,
  ListRunsOptions,
  PruneRunsOptions,
  RunControl,
  RunOutcome,
  RunRecord,
  RunStore,
  RunWatch,
} from "./runs.js";
import type { Serializer } from "./serializer.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A run as kept here: the record with its input still serialized. */
type StoredRun = Mutable<Omit<RunRecord, "input">> & { encodedInput: string };

/**
 * The run queue of MemoryCheckpointer: an in-process queue with the same
 * rules, leases and fencing as the durable backends. Like the checkpoints, the
 * input is kept serialized, so a run that a durable backend would refuse is
 * refused here too.
 */
export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, StoredRun>();
  /** In-process: every change that may free a run wakes the watching workers at once. */
  private readonly wakes = new RunWakes();

  constructor(
    private readonly serializer: Serializer,
    private readonly assertOpen: () => void,
  ) {}

  create(request: CreateRunRequest): Promise<RunRecord> {
    return this.sync(() => {
      const resolved = checkCreateRequest(request);
      const encodedInput = this.serializer.serialize(request.input, "run input", "input");
      const active = this.threadRuns(resolved.threadId).filter((run) => isActive(run.status));
      const plan = planCreate(resolved.strategy, active);
      if (plan.rejectBecause) {
        throw new ThreadBusyError(
          resolved.threadId,
          plan.rejectBecause.id,
          plan.rejectBecause.status,
        );
      }
      const now = new Date();
      for (const { runId, status } of plan.end) this.endNow(this.runs.get(runId)!, status, now);
      for (const { runId, control } of plan.control) this.runs.get(runId)!.control = control;
      const id = newCheckpointId();
      const run: StoredRun = {
        id,
        threadId: resolved.threadId,
        graph: resolved.graph,
        encodedInput,
        status: "pending",
        strategy: resolved.strategy,
        attempts: 0,
        maxAttempts: resolved.maxAttempts,
        token: 0,
        workerId: null,
        leaseExpiresAt: null,
        control: null,
        error: null,
        metadata: request.metadata ?? {},
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        endedAt: null,
      };
      this.runs.set(id, run);
      this.wakes.notify();
      return this.record(run);
    });
  }

  get(runId: string): Promise<RunRecord | undefined> {
    return this.sync(() => {
      checkRunId(runId);
      const run = this.runs.get(runId);
      return run && this.record(run);
    });
  }

  prune(options: PruneRunsOptions): Promise<{ readonly deleted: number }> {
    return this.sync(() => {
      const { cutoff } = checkPruneRuns(options);
      let deleted = 0;
      for (const [id, run] of this.runs) {
        if (isActive(run.status) || run.endedAt === null || run.endedAt.getTime() >= cutoff)
          continue;
        this.runs.delete(id);
        deleted += 1;
      }
      return { deleted };
    });
  }

  list(options: ListRunsOptions = {}): Promise<readonly RunRecord[]> {
    return this.sync(() => {
      const { threadId, before, statuses, limit } = resolveListRuns(options);
      const found: RunRecord[] = [];
      for (const run of [...this.runs.values()].reverse()) {
        if (found.length >= limit) break;
        if (threadId !== undefined && run.threadId !== threadId) continue;
        if (statuses && !statuses.includes(run.status)) continue;
        if (before !== undefined && run.id >= before) continue;
        found.push(this.record(run));
      }
      return found;
    });
  }

  claim(options: ClaimOptions): Promise<ClaimedRun | undefined> {
    return this.sync(() => {
      checkClaim(options);
      const now = new Date();
      const blocked = new Set<string>();
      // Insertion order is creation order: the first claimable run is the oldest.
      for (const run of this.runs.values()) {
        const claimable =
          (run.status === "pending" && !blocked.has(run.threadId)) ||
          (run.status === "running" && run.leaseExpiresAt! <= now);
        if (isActive(run.status)) blocked.add(run.threadId);
        if (!claimable) continue;
        if (run.attempts >= run.maxAttempts) {
          run.error = attemptsExhausted(run.id, run.maxAttempts);
          this.endNow(run, "failed", now);
          continue;
        }
        run.status = "running";
        run.attempts += 1;
        run.token += 1;
        run.workerId = options.workerId;
        run.leaseExpiresAt = new Date(now.getTime() + options.leaseMs);
        run.startedAt ??= now;
        run.updatedAt = now;
        return { run: this.record(run), fence: { runId: run.id, token: run.token } };
      }
      return undefined;
    });
  }

  heartbeat(fence: Fence, leaseMs: number): Promise<HeartbeatResult> {
    return this.sync(() => {
      checkLeaseMs(leaseMs);
      const run = this.fenced(fence);
      const now = new Date();
      run.leaseExpiresAt = new Date(now.getTime() + leaseMs);
      run.updatedAt = now;
      return { leaseExpiresAt: run.leaseExpiresAt, control: run.control };
    });
  }

  finish(fence: Fence, outcome: RunOutcome): Promise<RunRecord> {
    return this.sync(() => {
      const run = this.fenced(fence);
      const now = new Date();
      if (outcome.status === "paused") {
        run.status = "paused";
        run.control = null;
        run.workerId = null;
        run.leaseExpiresAt = null;
        run.updatedAt = now;
      } else {
        if (outcome.status === "failed") run.error = outcome.error;
        this.endNow(run, outcome.status, now);
      }
      // The thread's next run, if any, is claimable now.
      this.wakes.notify();
      return this.record(run);
    });
  }

  release(fence: Fence): Promise<RunRecord> {
    return this.sync(() => {
      const run = this.fenced(fence);
      run.status = "pending";
      run.attempts -= 1;
      run.workerId = null;
      run.leaseExpiresAt = null;
      run.updatedAt = new Date();
      this.wakes.notify();
      return this.record(run);
    });
  }

  cancel(runId: string): Promise<RunRecord> {
    return this.sync(() => {
      const run = this.find(runId);
      if (run.status === "pending" || run.status === "paused") {
        this.endNow(run, "cancelled");
        this.wakes.notify();
      } else if (run.status === "running") this.request(run, "cancel");
      return this.record(run);
    });
  }

  pause(runId: string): Promise<RunRecord> {
    return this.sync(() => {
      const run = this.find(runId);
      if (run.status === "pending") {
        run.status = "paused";
        run.updatedAt = new Date();
      } else if (run.status === "running") {
        if (run.control === null) this.request(run, "pause");
      } else if (run.status !== "paused") {
        throw new RunStateError(run.id, run.status, "pause");
      }
      return this.record(run);
    });
  }

  resume(runId: string): Promise<RunRecord> {
    return this.sync(() => {
      const run = this.find(runId);
      if (run.status === "paused") {
        run.status = "pending";
        run.updatedAt = new Date();
        this.wakes.notify();
      } else if (run.status === "running" && run.control === "pause") {
        run.control = null;
        run.updatedAt = new Date();
      } else {
        throw new RunStateError(run.id, run.status, "resume");
      }
      return this.record(run);
    });
  }

  watch(): RunWatch {
    return this.wakes.watch();
  }

  /** Closes the watches (MemoryCheckpointer.close). */
  closeWatches(): Promise<void> {
    return this.wakes.close();
  }

  /**
   * Checks a fence for a write of MemoryCheckpointer and reports a pending
   * control request after the write. Call before writing: it throws when stale.
   */
  admit(fence: Fence | undefined): (() => void) | undefined {
    if (fence === undefined) return undefined;
    const run = this.fenced(fence);
    const control = run.control;
    return control === null || !fence.onControl ? undefined : () => fence.onControl!(control);
  }

  private fenced(fence: Fence): StoredRun {
    checkFence(fence);
    const run = this.runs.get(fence.runId);
    const lost = fenceError(fence, run);
    if (lost !== undefined) throw lost;
    return run!;
  }

  private find(runId: string): StoredRun {
    checkRunId(runId);
    const run = this.runs.get(runId);
    if (run === undefined) throw new RunNotFoundError(runId);
    return run;
  }

  private request(run: StoredRun, control: RunControl): void {
    run.control = control;
    run.updatedAt = new Date();
  }

  private endNow(run: StoredRun, status: RunRecord["status"], now = new Date()): void {
    run.status = status;
    run.control = null;
    run.workerId = null;
    run.leaseExpiresAt = null;
    run.endedAt = now;
    run.updatedAt = now;
  }

  private threadRuns(threadId: string): StoredRun[] {
    return [...this.runs.values()].filter((run) => run.threadId === threadId);
  }

  private record(run: StoredRun): RunRecord {
    const { encodedInput, ...rest } = run;
    return {
      ...rest,
      input: this.serializer.deserialize(encodedInput, `run ${run.id} input`),
      metadata: { ...run.metadata },
    };
  }

  private sync<T>(operation: () => T): Promise<T> {
    return atomically(this.assertOpen, operation);
  }
}
