import { FORMAT_VERSION } from "./checkpoint.js";
import type { ThreadExport } from "./checkpointer.js";
import { CorruptRecordError, ThreadNotFoundError } from "./errors.js";
import { assertId } from "./internal/arguments.js";
import type { EncodedCheckpoint, EncodedPendingWrite } from "./record.js";
import {
  assertSupportedVersion,
  chainPath,
  decodePendingWrite,
  decodeSnapshot,
  decodeWrites,
  headerDecoder,
} from "./record-decode.js";
import type { Serializer } from "./serializer.js";

const CHECKPOINT_FIELDS = {
  formatVersion: "number",
  threadId: "string",
  namespace: "string",
  id: "string",
  step: "number",
  createdAt: "number",
  baseId: "string",
  chainLength: "number",
  chainBytes: "number",
  snapshotBytes: "number",
  nextCount: "number",
  metadata: "string",
  header: "string",
  writes: "string",
} as const;

const PENDING_FIELDS = {
  formatVersion: "number",
  threadId: "string",
  namespace: "string",
  checkpointId: "string",
  taskId: "string",
  idx: "number",
  channel: "string",
  value: "string",
} as const;

/**
 * A thread's stored records as an export; ThreadNotFoundError when it has
 * none (a thread exists while it has a checkpoint).
 */
export function threadExport(
  threadId: string,
  checkpoints: readonly EncodedCheckpoint[],
  pendingWrites: readonly EncodedPendingWrite[],
): ThreadExport {
  if (checkpoints.length === 0) throw new ThreadNotFoundError(threadId);
  return {
    format: "waypoint.thread",
    formatVersion: FORMAT_VERSION,
    threadId,
    checkpoints,
    pendingWrites,
  };
}

/**
 * Checks a whole export before anything is written: its shape, every
 * record's format version, that every payload decodes safely, and that every
 * checkpoint's chain reaches its snapshot. Returns the records relabelled
 * with `threadId` when given (for copies). Throws on the first problem,
 * mostly CorruptRecordError.
 */
export function validateThreadExport(
  data: unknown,
  serializer: Serializer,
  threadId?: string,
): ThreadExport {
  const where = "thread export";
  if (data === null || typeof data !== "object")
    throw new CorruptRecordError(where, "expected an object");
  const input = data as Partial<ThreadExport>;
  if (input.format !== "waypoint.thread") {
    throw new CorruptRecordError(
      where,
      `format must be "waypoint.thread", got ${String(input.format)}`,
    );
  }
  assertSupportedVersion(input.formatVersion, where);
  if (typeof input.threadId !== "string") throw new CorruptRecordError(where, "missing threadId");
  if (!Array.isArray(input.checkpoints) || !Array.isArray(input.pendingWrites)) {
    throw new CorruptRecordError(where, "checkpoints and pendingWrites must be arrays");
  }
  const target = threadId ?? input.threadId;
  assertId(target, "threadId");

  const checkpoints = input.checkpoints.map((record: unknown, index) => {
    const checked = checkFields<EncodedCheckpoint>(
      record,
      CHECKPOINT_FIELDS,
      `${where}, checkpoints[${index}]`,
    );
    if (checked.parentId !== null && typeof checked.parentId !== "string") {
      throw new CorruptRecordError(
        `${where}, checkpoints[${index}]`,
        "parentId must be a string or null",
      );
    }
    if (checked.snapshot !== null && typeof checked.snapshot !== "string") {
      throw new CorruptRecordError(
        `${where}, checkpoints[${index}]`,
        "snapshot must be a string or null",
      );
    }
    return checked;
  });
  const pendingWrites = input.pendingWrites.map((record: unknown, index) =>
    checkFields<EncodedPendingWrite>(record, PENDING_FIELDS, `${where}, pendingWrites[${index}]`),
  );

  const byNamespace = new Map<string, EncodedCheckpoint[]>();
  const keys = new Set<string>();
  for (const record of checkpoints) {
    if (record.threadId !== input.threadId) {
      throw new CorruptRecordError(
        where,
        `checkpoint ${record.id} belongs to thread "${record.threadId}"`,
      );
    }
    const key = `${record.namespace}\u0000${record.id}`;
    if (keys.has(key)) throw new CorruptRecordError(where, `checkpoint ${record.id} appears twice`);
    keys.add(key);
    const list = byNamespace.get(record.namespace) ?? [];
    list.push(record);
    byNamespace.set(record.namespace, list);
  }
  // Decode every payload once, and check that every chain reaches its snapshot.
  for (const records of byNamespace.values()) {
    const byId = new Map(records.map((record) => [record.id, record]));
    const decodeHeader = headerDecoder(byId, serializer);
    for (const record of records) {
      decodeHeader(record);
      decodeWrites(record, serializer);
      if (record.snapshot !== null) decodeSnapshot(record, serializer);
      chainPath(record, byId);
    }
  }
  for (const write of pendingWrites) {
    if (
      write.threadId !== input.threadId ||
      !keys.has(`${write.namespace}\u0000${write.checkpointId}`)
    ) {
      throw new CorruptRecordError(
        where,
        `pending write ${write.taskId}/${write.idx} names an unknown checkpoint`,
      );
    }
    decodePendingWrite(write, serializer);
  }

  // Not threadExport(): an export without checkpoints is valid input (it imports nothing).
  return {
    format: "waypoint.thread",
    formatVersion: FORMAT_VERSION,
    threadId: target,
    checkpoints: checkpoints.map((record) => ({ ...record, threadId: target })),
    pendingWrites: pendingWrites.map((record) => ({ ...record, threadId: target })),
  };
}

function checkFields<T>(
  value: unknown,
  fields: Readonly<Record<string, string>>,
  where: string,
): T {
  if (value === null || typeof value !== "object")
    throw new CorruptRecordError(where, "expected an object");
  for (const [field, type] of Object.entries(fields)) {
    const actual = (value as Record<string, unknown>)[field];
    if (typeof actual !== type) throw new CorruptRecordError(where, `${field} must be a ${type}`);
  }
  assertSupportedVersion((value as { formatVersion: unknown }).formatVersion, where);
  return value as T;
}
