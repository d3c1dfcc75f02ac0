import type { JsonValue } from "./checkpoint.js";
import type { SerializedError } from "./errors.js";

/**
 * A run is one request to advance a thread: "invoke graph G on thread T with
 * this input". Runs are queued in the same store as the thread's checkpoints,
 * claimed by workers under a lease, and fenced: a worker whose lease was taken
 * over can no longer write the thread.
 *
 * - `pending`: queued, waiting for a worker (or for an earlier run of its thread).
 * - `running`: a worker holds its lease.
 * - `paused`: stopped at a superstep boundary by `pause`; `resume` queues it again.
 * - `interrupted`: stopped by an `interrupt()` in a node, or by a newer run of
 *   its thread enqueued with the `interrupt` strategy.
 * - `succeeded`, `failed`, `cancelled`: ended.
 */
export type RunStatus =
  "pending" | "running" | "paused" | "interrupted" | "succeeded" | "failed" | "cancelled";

/** Every RunStatus, for validating input. */
export const RUN_STATUSES: readonly RunStatus[] = [
  "pending",
  "running",
  "paused",
  "interrupted",
  "succeeded",
  "failed",
  "cancelled",
];

/** Statuses a run never leaves. */
export const ENDED_RUN_STATUSES: readonly RunStatus[] = [
  "interrupted",
  "succeeded",
  "failed",
  "cancelled",
];

/** A run in one of these statuses holds its thread: later runs of the thread wait for it. */
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ["pending", "running", "paused"];

/**
 * What happens when a run is created for a thread that already has an active
 * run (pending, running or paused):
 * - `reject`: creation fails with ThreadBusyError; nothing is queued.
 * - `enqueue`: the new run waits until the earlier ones end.
 * - `interrupt`: a running run stops at its next superstep boundary, keeping
 *   its progress, and ends `interrupted`; a paused one ends `interrupted` at once.
 *   The new run then continues the thread from there.
 * - `rollback`: like `interrupt`, but the stopped run's checkpoints are undone
 *   (the thread goes back to where that run started) and it ends `cancelled`.
 */
export type MultitaskStrategy = "reject" | "enqueue" | "interrupt" | "rollback";

/** Every MultitaskStrategy, for validating input. */
export const MULTITASK_STRATEGIES: readonly MultitaskStrategy[] = [
  "reject",
  "enqueue",
  "interrupt",
  "rollback",
];

/** A request to a running run, acted on at its next superstep boundary (cancel: at once). */
export type RunControl = "cancel" | "pause" | "interrupt" | "rollback";

/** Every RunControl, for validating input. */
export const RUN_CONTROLS: readonly RunControl[] = ["cancel", "pause", "interrupt", "rollback"];

/** A run as the store keeps it: what it invokes, its status, its lease and its timestamps. */
export interface RunRecord {
  /** Time-ordered (a UUIDv7 made by the store): "oldest first" and `before` go by it. */
  readonly id: string;
  readonly threadId: string;
  /** The name the worker finds the graph under. */
  readonly graph: string;
  /** What to invoke the graph with (a value, or a resume command in the runtime's own shape). */
  readonly input: unknown;
  readonly status: RunStatus;
  readonly strategy: MultitaskStrategy;
  /** Claims so far; a claim after a crash is a new attempt. */
  readonly attempts: number;
  /** A claim beyond this many attempts fails the run instead (a run that kills its workers). */
  readonly maxAttempts: number;
  /** Fencing token of the latest claim; grows with every claim. 0 before the first. */
  readonly token: number;
  /** The worker holding the lease, while running. */
  readonly workerId: string | null;
  /** When the lease lapses unless renewed, while running. */
  readonly leaseExpiresAt: Date | null;
  /** A request not yet acted on. */
  readonly control: RunControl | null;
  readonly error: SerializedError | null;
  readonly metadata: Readonly<Record<string, JsonValue>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly startedAt: Date | null;
  readonly endedAt: Date | null;
}

/**
 * What `RunStore.create` takes: the thread, the graph's name, its input, and how to treat the
 * thread's active runs.
 */
export interface CreateRunRequest {
  readonly threadId: string;
  readonly graph: string;
  readonly input: unknown;
  /** Default `enqueue`. */
  readonly strategy?: MultitaskStrategy;
  /** Default 5. */
  readonly maxAttempts?: number;
  /** Plain JSON only: stored as JSON by every backend. */
  readonly metadata?: Readonly<Record<string, JsonValue>>;
}

/** Options of `RunStore.claim`: who claims, and for how long the lease lasts. */
export interface ClaimOptions {
  readonly workerId: string;
  /** How long the lease lasts unless renewed by `heartbeat`. */
  readonly leaseMs: number;
}

/** A claimed run: write the thread with `fence` and renew before `leaseExpiresAt`. */
export interface ClaimedRun {
  readonly run: RunRecord;
  readonly fence: Fence;
}

/**
 * Proof of a lease, passed with every write of a claimed run. The backend
 * checks it inside the write itself: if the run's token has moved on (another
 * worker claimed it) or the run is no longer running, the write fails with
 * LeaseLostError and nothing is written.
 */
export interface Fence {
  readonly runId: string;
  readonly token: number;
  /**
   * Called after a fenced write succeeds if a control request is pending for
   * the run, so that the runtime learns of it without another round trip.
   */
  readonly onControl?: (control: RunControl) => void;
}

/**
 * What `RunStore.heartbeat` returns: the renewed lease's expiry and any control request not yet
 * acted on.
 */
export interface HeartbeatResult {
  readonly leaseExpiresAt: Date;
  readonly control: RunControl | null;
}

/** How a claimed run ends (or pauses). */
export type RunOutcome =
  | { readonly status: "succeeded" | "interrupted" | "cancelled" | "paused" }
  | { readonly status: "failed"; readonly error: SerializedError };

/** Options of `RunStore.list`: filters by thread and status, and a page (`limit`, `before`). */
export interface ListRunsOptions {
  readonly threadId?: string;
  readonly status?: RunStatus | readonly RunStatus[];
  /** Newest first; at most this many (default 100, at most 1000). */
  readonly limit?: number;
  /** Only runs created before this one (exclusive): the cursor for the next page. */
  readonly before?: string;
}

/** Options of `RunStore.prune`: the cutoff for ended runs, and the batch size. */
export interface PruneRunsOptions {
  /** Ended runs (ENDED_RUN_STATUSES) whose `endedAt` is before this go. */
  readonly endedBefore: Date;
  /** Runs deleted per statement, transaction or script (default 500). */
  readonly batch?: number;
}

/**
 * The run queue. Each backend implements it with its engine's own mechanism
 * and passes the shared suite (`runRunStoreConformance`).
 */
export interface RunStore {
  /** Queues a run, applying the strategy atomically against the thread's active runs. */
  create(request: CreateRunRequest): Promise<RunRecord>;

  /** Undefined when no such run. */
  get(runId: string): Promise<RunRecord | undefined>;

  /** Newest first. */
  list(options?: ListRunsOptions): Promise<readonly RunRecord[]>;

  /**
   * Takes one run, oldest first: a pending run whose thread has no earlier
   * active run, or a running run whose lease has lapsed (its worker died).
   * Sets it running with a new token and lease, and counts an attempt; a run
   * past `maxAttempts` is failed instead. Undefined when nothing is claimable.
   * Two claims never return the same run under the same token.
   */
  claim(options: ClaimOptions): Promise<ClaimedRun | undefined>;

  /** Renews the lease and reports a pending control request. LeaseLostError if the fence is stale. */
  heartbeat(fence: Fence, leaseMs: number): Promise<HeartbeatResult>;

  /** Ends (or pauses) a claimed run and drops its lease. LeaseLostError if the fence is stale. */
  finish(fence: Fence, outcome: RunOutcome): Promise<RunRecord>;

  /**
   * Gives a claimed run back to the queue (a draining worker): pending again,
   * claimable at once by another worker, its attempt not counted.
   */
  release(fence: Fence): Promise<RunRecord>;

  /**
   * Cancels a run. Pending or paused: cancelled at once. Running: the request
   * is recorded and the worker cancels it. Ended: returned unchanged.
   */
  cancel(runId: string): Promise<RunRecord>;

  /** Pauses a run. Pending: paused at once. Running: paused by its worker at the next boundary. */
  pause(runId: string): Promise<RunRecord>;

  /** A paused run is queued again; a pause not yet acted on is withdrawn. RunStateError otherwise. */
  resume(runId: string): Promise<RunRecord>;

  /**
   * Retention: deletes ended runs (succeeded, failed, cancelled,
   * interrupted) that ended before `endedBefore`, in bounded batches, and
   * returns how many. A run still pending, running or paused is never
   * deleted, however old. Run it from a scheduled job, as a Temporal
   * namespace's retention period; the threads' checkpoints are not touched.
   */
  prune(options: PruneRunsOptions): Promise<{ readonly deleted: number }>;

  /**
   * Optional: a watch that tells a worker when a run may have become
   * claimable (created, released, resumed, or its thread freed), so that an
   * idle worker claims at once instead of at its next poll. A store that
   * cannot tell leaves it out, and workers poll. A lapsed lease wakes no one:
   * polling still finds it.
   */
  watch?(): RunWatch;
}

/**
 * A worker's line to the store's wake-ups (`RunStore.watch`). A wake may be
 * spurious (the run was taken by another worker), and a run may become
 * claimable without one (a lease lapsed, the store's connection for wake-ups
 * was down), so a watch speeds polling up; it does not replace it.
 */
export interface RunWatch {
  /**
   * Resolves when a run may have become claimable since the previous wait
   * resolved (or since the watch was made), after `timeoutMs`, or when
   * `signal` aborts, whichever is first. Never rejects. Once the watch or
   * its store is closed, it only waits out `timeoutMs` (or the signal).
   */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Stops watching: a wait in progress resolves; the store may close its connection for wake-ups. */
  close(): void;
}

/** Per `maxAttempts` when a request gives none. */
export const DEFAULT_MAX_ATTEMPTS = 5;
