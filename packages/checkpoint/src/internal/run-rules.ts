import { InvalidArgumentError } from "../errors.js";
import {
  ACTIVE_RUN_STATUSES,
  DEFAULT_MAX_ATTEMPTS,
  MULTITASK_STRATEGIES,
  RUN_STATUSES,
  type CreateRunRequest,
  type ListRunsOptions,
  type MultitaskStrategy,
  type PruneRunsOptions,
  type RunControl,
  type RunStatus,
} from "../runs.js";
import { assertId, resolveLimit } from "./arguments.js";
import { assertStorableMetadata } from "./metadata-text.js";
import { isPlainJson } from "./value-check.js";

/**
 * The run rules every backend applies, written once for the backends that
 * decide in JavaScript (memory, SQLite inside its write transaction).
 * PostgreSQL and Redis state the same rules in SQL and Lua.
 */

/** The fields of a run the rules look at. */
export interface RunState {
  readonly id: string;
  readonly status: RunStatus;
  readonly control: RunControl | null;
}

/** What `planCreate` decides for the thread's earlier active runs when a run is created. */
export interface CreatePlan {
  /** The active run that makes a `reject` fail, if any. */
  readonly rejectBecause?: RunState;
  /** Status changes that take effect at once (a paused run that is interrupted or rolled back). */
  readonly end: readonly { readonly runId: string; readonly status: RunStatus }[];
  /** Requests for running runs, acted on by their workers. */
  readonly control: readonly { readonly runId: string; readonly control: RunControl }[];
}

/**
 * What creating a run does to the thread's earlier active runs.
 * `active` holds the thread's pending, running and paused runs, oldest first.
 */
export function planCreate(strategy: MultitaskStrategy, active: readonly RunState[]): CreatePlan {
  if (strategy === "reject") {
    const busy = active[0];
    return busy ? { rejectBecause: busy, end: [], control: [] } : { end: [], control: [] };
  }
  if (strategy === "enqueue") return { end: [], control: [] };
  const end: { runId: string; status: RunStatus }[] = [];
  const control: { runId: string; control: RunControl }[] = [];
  for (const run of active) {
    // A cancel already asked for stands: the run ends cancelled, not interrupted.
    if (run.status === "running") {
      if (run.control !== "cancel") control.push({ runId: run.id, control: strategy });
    } else if (run.status === "paused") {
      end.push({ runId: run.id, status: strategy === "interrupt" ? "interrupted" : "cancelled" });
    }
  }
  return { end, control };
}

/** Whether a run in this status holds its thread (pending, running or paused). */
export function isActive(status: RunStatus): boolean {
  return ACTIVE_RUN_STATUSES.includes(status);
}

/** A create request after `checkCreateRequest`: ids checked, defaults filled in. */
export interface ResolvedCreate {
  readonly threadId: string;
  readonly graph: string;
  readonly strategy: MultitaskStrategy;
  readonly maxAttempts: number;
}

/**
 * Validates a create request (ids, metadata, strategy, maxAttempts) and fills
 * in the defaults (`enqueue`, DEFAULT_MAX_ATTEMPTS); InvalidArgumentError otherwise.
 */
export function checkCreateRequest(request: CreateRunRequest): ResolvedCreate {
  assertId(request.threadId, "threadId");
  assertId(request.graph, "graph");
  checkRunMetadata(request.metadata);
  const strategy = request.strategy ?? "enqueue";
  if (!MULTITASK_STRATEGIES.includes(strategy)) {
    throw new InvalidArgumentError(
      "strategy",
      `must be one of ${MULTITASK_STRATEGIES.join(", ")}, got ${String(strategy)}`,
    );
  }
  const maxAttempts = request.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new InvalidArgumentError("maxAttempts", `must be a positive integer, got ${maxAttempts}`);
  }
  return { threadId: request.threadId, graph: request.graph, strategy, maxAttempts };
}

/** Run metadata is plain JSON that every backend stores as itself (see metadata-text.ts). */
function checkRunMetadata(metadata: unknown): void {
  if (metadata === undefined) return;
  if (
    metadata === null ||
    typeof metadata !== "object" ||
    Array.isArray(metadata) ||
    !isPlainJson(metadata)
  ) {
    throw new InvalidArgumentError("metadata", "expected a plain JSON object");
  }
  assertStorableMetadata(metadata, JSON.stringify(metadata), "metadata");
}

/** A prune's cutoff (ms since the epoch) and batch size, checked. */
export function checkPruneRuns(options: PruneRunsOptions): { cutoff: number; batch: number } {
  const endedBefore: unknown = (options as { endedBefore?: unknown } | undefined)?.endedBefore;
  if (!(endedBefore instanceof Date) || Number.isNaN(endedBefore.getTime())) {
    throw new InvalidArgumentError("endedBefore", "expected a valid Date");
  }
  return {
    cutoff: endedBefore.getTime(),
    batch: resolveLimit(options.batch, "batch", 500, 10_000),
  };
}

/** A run id named by `get`, `cancel`, `pause` or `resume`: the identity rule, as for thread ids. */
export function checkRunId(runId: unknown): asserts runId is string {
  assertId(runId, "runId");
}

/** A fence, checked before any write that carries it. */
export function checkFence(fence: unknown, argument = "fence"): void {
  if (fence === null || typeof fence !== "object") {
    throw new InvalidArgumentError(argument, "expected { runId, token } from a claim");
  }
  const { runId, token } = fence as { runId?: unknown; token?: unknown };
  assertId(runId, `${argument}.runId`);
  if (typeof token !== "number" || !Number.isSafeInteger(token) || token < 0) {
    throw new InvalidArgumentError(
      `${argument}.token`,
      `expected a non-negative integer, got ${String(token)}`,
    );
  }
}

/** A claim's worker id and lease. */
export function checkClaim(options: {
  readonly workerId: unknown;
  readonly leaseMs: number;
}): void {
  assertId(options.workerId, "workerId");
  checkLeaseMs(options.leaseMs);
}

/** A listing's filters, checked and resolved once for every backend. */
export function resolveListRuns(options: ListRunsOptions): {
  readonly threadId: string | undefined;
  readonly before: string | undefined;
  readonly statuses: readonly RunStatus[] | undefined;
  readonly limit: number;
} {
  if (options.threadId !== undefined) assertId(options.threadId, "threadId");
  if (options.before !== undefined) assertId(options.before, "before");
  return {
    threadId: options.threadId,
    before: options.before,
    statuses: resolveStatusFilter(options.status),
    limit: resolveLimit(options.limit, "limit", 100, 1000),
  };
}

/**
 * A lease length in milliseconds, from 1 to 86,400,000 (one day); InvalidArgumentError otherwise.
 */
export function checkLeaseMs(leaseMs: number): void {
  if (!Number.isFinite(leaseMs) || leaseMs < 1 || leaseMs > 86_400_000) {
    throw new InvalidArgumentError("leaseMs", `must be between 1 and 86400000, got ${leaseMs}`);
  }
}

/**
 * A `status` filter as a list, every entry checked against RUN_STATUSES; undefined for no filter.
 */
export function resolveStatusFilter(
  status: ListRunsOptions["status"],
): readonly RunStatus[] | undefined {
  if (status === undefined) return undefined;
  const list = typeof status === "string" ? [status] : status;
  for (const one of list) {
    if (!RUN_STATUSES.includes(one)) {
      throw new InvalidArgumentError(
        "status",
        `must be one of ${RUN_STATUSES.join(", ")}, got ${String(one)}`,
      );
    }
  }
  return list;
}

/** The error a run gets when a claim finds it past its attempts. */
export function attemptsExhausted(runId: string, maxAttempts: number) {
  return {
    name: "RunAttemptsExhaustedError",
    code: "RUN_ATTEMPTS_EXHAUSTED",
    message:
      `Run ${runId} was claimed ${maxAttempts} times without ending: each worker that ` +
      `took it stopped before finishing. Failing it rather than trying again.`,
    data: { runId, maxAttempts },
  };
}
