import {
  CorruptRecordError,
  MULTITASK_STRATEGIES,
  RUN_STATUSES,
  type MultitaskStrategy,
  type RunControl,
  type RunRecord,
  type RunStatus,
  type SerializedError,
  type Serializer,
} from "@waypoint/checkpoint";

/**
 * A run's hash, `{p:t}:run:<runId>`. Times are Redis's own clock (`TIME`) in
 * ms; "" stands for null. `entry` is the queue entry of the latest claim: the
 * one its heartbeats keep from being redelivered. Scripts read the fields in
 * this order (HMGET), so this list is the stored layout.
 */
export const RUN_FIELDS = [
  "id",
  "thread",
  "graph",
  "input",
  "status",
  "strategy",
  "attempts",
  "max",
  "token",
  "worker",
  "lease",
  "control",
  "error",
  "meta",
  "created",
  "updated",
  "started",
  "ended",
  "entry",
] as const;

const CONTROLS: readonly string[] = ["cancel", "pause", "interrupt", "rollback"];

/** A run's fields as HMGET returns them (null for a missing field), checked and decoded. */
export function decodeRun(
  values: readonly (string | null)[],
  runId: string,
  serializer: Serializer,
): RunRecord {
  const where = `run ${runId}`;
  const field = (name: (typeof RUN_FIELDS)[number]): string => {
    const value = values[RUN_FIELDS.indexOf(name)];
    if (typeof value !== "string") throw new CorruptRecordError(where, `no ${name} field`);
    return value;
  };
  const integer = (name: (typeof RUN_FIELDS)[number]): number => {
    const value = Number(field(name));
    if (!Number.isSafeInteger(value) || field(name) === "") {
      throw new CorruptRecordError(
        where,
        `${name} is not an integer: ${JSON.stringify(field(name))}`,
      );
    }
    return value;
  };
  const time = (name: (typeof RUN_FIELDS)[number]): Date | null =>
    field(name) === "" ? null : new Date(integer(name));
  const oneOf = <T extends string>(name: (typeof RUN_FIELDS)[number], allowed: readonly T[]) => {
    if (!allowed.includes(field(name) as T)) {
      throw new CorruptRecordError(where, `unknown ${name} ${JSON.stringify(field(name))}`);
    }
    return field(name) as T;
  };
  if (field("id") !== runId) throw new CorruptRecordError(where, `holds run ${field("id")}`);
  return {
    id: runId,
    threadId: field("thread"),
    graph: field("graph"),
    input: serializer.deserialize(field("input"), `${where} input`),
    status: oneOf<RunStatus>("status", RUN_STATUSES),
    strategy: oneOf<MultitaskStrategy>("strategy", MULTITASK_STRATEGIES),
    attempts: integer("attempts"),
    maxAttempts: integer("max"),
    token: integer("token"),
    workerId: field("worker") === "" ? null : field("worker"),
    leaseExpiresAt: time("lease"),
    control:
      field("control") === "" ? null : oneOf<RunControl>("control", CONTROLS as RunControl[]),
    error: field("error") === "" ? null : (parseJson(field("error"), where) as SerializedError),
    metadata: parseJson(field("meta"), where) as RunRecord["metadata"],
    createdAt: new Date(integer("created")),
    updatedAt: new Date(integer("updated")),
    startedAt: time("started"),
    endedAt: time("ended"),
  };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CorruptRecordError(where, "not valid JSON", error);
  }
}
