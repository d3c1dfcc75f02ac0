import { CorruptRecordError, LeaseLostError, type SerializedError } from "../errors.js";
import {
  MULTITASK_STRATEGIES,
  RUN_CONTROLS,
  RUN_STATUSES,
  type Fence,
  type MultitaskStrategy,
  type RunControl,
  type RunRecord,
  type RunStatus,
} from "../runs.js";
import type { Serializer } from "../serializer.js";

/**
 * A run as a backend reads it back: times in epoch milliseconds, the input
 * as the serializer's text, error and metadata as parsed JSON. Each backend
 * maps its own row (columns, hash fields) to this, and `decodeRunRow` checks
 * and decodes it the same way for all of them.
 */
export interface RunRow {
  readonly id: string;
  readonly threadId: string;
  readonly graph: string;
  readonly input: string;
  readonly status: string;
  readonly strategy: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly token: number;
  readonly workerId: string | null;
  readonly leaseExpiresAt: number | null;
  readonly control: string | null;
  readonly error: unknown;
  readonly metadata: unknown;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
}

/** A stored run, checked: an unknown status, strategy or control, or malformed JSON, is CORRUPT_RECORD. */
export function decodeRunRow(row: RunRow, serializer: Serializer): RunRecord {
  const where = `run ${row.id}`;
  if (!isPlainObject(row.metadata))
    throw new CorruptRecordError(where, "metadata is not an object");
  if (row.error !== null && !isPlainObject(row.error)) {
    throw new CorruptRecordError(where, "error is not an object");
  }
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  return {
    id: row.id,
    threadId: row.threadId,
    graph: row.graph,
    input: serializer.deserialize(row.input, `${where} input`),
    status: oneOf<RunStatus>(row.status, RUN_STATUSES, "status", where),
    strategy: oneOf<MultitaskStrategy>(row.strategy, MULTITASK_STRATEGIES, "strategy", where),
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    token: row.token,
    workerId: row.workerId,
    leaseExpiresAt: date(row.leaseExpiresAt),
    control: decodeControl(row.control, where),
    error: row.error as SerializedError | null,
    metadata: row.metadata as RunRecord["metadata"],
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    startedAt: date(row.startedAt),
    endedAt: date(row.endedAt),
  };
}

/**
 * A stored control request, checked against RUN_CONTROLS; CorruptRecordError naming `where`
 * otherwise.
 */
export function decodeControl(control: string | null, where: string): RunControl | null {
  return control === null ? null : oneOf<RunControl>(control, RUN_CONTROLS, "control", where);
}

/** After a fenced write committed: tells the writer of a control request pending for its run. */
export function reportControl(fence: Fence, control: string | null): void {
  const decoded = decodeControl(control, `run ${fence.runId}`);
  if (decoded !== null) fence.onControl?.(decoded);
}

/** A run as a fenced write finds it (all null when there is no such run). */
export interface FenceState {
  readonly token: number | null;
  readonly status: string | null;
  readonly control: string | null;
  readonly workerId: string | null;
}

/**
 * The LeaseLostError for a fenced write that found the run in `state`, or
 * undefined when the fence holds (same token, still running).
 */
export function fenceError(
  fence: Fence,
  state: FenceState | undefined,
): LeaseLostError | undefined {
  const lost = (problem: string) => new LeaseLostError(fence.runId, fence.token, problem);
  if (state === undefined || state.token === null) return lost("there is no such run");
  if (state.token !== fence.token) {
    const by = state.workerId === null ? "" : ` by worker ${state.workerId}`;
    return lost(`the run was claimed again${by} (token ${state.token})`);
  }
  if (state.status === "pending") return lost("the run was released back to the queue");
  if (state.status !== "running") return lost(`the run is ${state.status}, no longer running`);
  return undefined;
}

function oneOf<T extends string>(
  value: string,
  allowed: readonly T[],
  what: string,
  where: string,
): T {
  if (!allowed.includes(value as T)) {
    throw new CorruptRecordError(where, `unknown ${what} ${JSON.stringify(value)}`);
  }
  return value as T;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
