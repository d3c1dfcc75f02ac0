import { CorruptRecordError, type RunRecord, type Serializer } from "@waypoint/checkpoint";
import { decodeRunRow, parseJson } from "@waypoint/checkpoint/backend";

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
  const optional = <T>(name: (typeof RUN_FIELDS)[number], decode: () => T): T | null =>
    field(name) === "" ? null : decode();
  if (field("id") !== runId) throw new CorruptRecordError(where, `holds run ${field("id")}`);
  return decodeRunRow(
    {
      id: runId,
      threadId: field("thread"),
      graph: field("graph"),
      input: field("input"),
      status: field("status"),
      strategy: field("strategy"),
      attempts: integer("attempts"),
      maxAttempts: integer("max"),
      token: integer("token"),
      workerId: optional("worker", () => field("worker")),
      leaseExpiresAt: optional("lease", () => integer("lease")),
      control: optional("control", () => field("control")),
      error: optional("error", () => parseJson(field("error"), `${where} error`)),
      metadata: parseJson(field("meta"), `${where} metadata`),
      createdAt: integer("created"),
      updatedAt: integer("updated"),
      startedAt: optional("started", () => integer("started")),
      endedAt: optional("ended", () => integer("ended")),
    },
    serializer,
  );
}
