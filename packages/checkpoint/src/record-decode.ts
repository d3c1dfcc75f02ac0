import {
  type ChannelValues,
  type ChannelVersions,
  type ChannelWrite,
  type Checkpoint,
  type CheckpointHeader,
  type CheckpointMetadata,
  type JsonValue,
  type PlannedTask,
  FORMAT_VERSION,
} from "./checkpoint.js";
import type { LoadedCheckpoint } from "./checkpointer.js";
import { CorruptRecordError, UnsupportedFormatVersionError } from "./errors.js";
import { assertSafePayload } from "./internal/payload-guard.js";
import { isForbiddenKey } from "./internal/value-check.js";
import type { PendingWrite } from "./pending-writes.js";
import type { EncodedCheckpoint, EncodedHeader, EncodedPendingWrite } from "./record.js";
import { parseJson, type Serializer } from "./serializer.js";

type WriteTuple = [taskId: string, channel: string, value: unknown];

/**
 * Decoding of stored records, shared by every backend: each payload is
 * guarded before anything is revived, and a checkpoint's chain is checked
 * to reach its base snapshot, so damaged storage shows up as an error rather
 * than as wrong state.
 */

export function assertSupportedVersion(version: unknown, where: string): void {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new CorruptRecordError(where, `invalid format version ${String(version)}`);
  }
  if (version > FORMAT_VERSION)
    throw new UnsupportedFormatVersionError(where, version, FORMAT_VERSION);
}

function recordLabel(record: Pick<EncodedCheckpoint, "threadId" | "id">): string {
  return `checkpoint ${String(record.id)} of thread "${String(record.threadId)}"`;
}

export function decodeHeader(record: EncodedHeader, serializer: Serializer): CheckpointHeader {
  const where = recordLabel(record);
  assertSupportedVersion(record.formatVersion, where);
  const header = parseGuarded(record.header, `${where}, header`);
  if (
    !isObject(header) ||
    !isObject(header.channelVersions) ||
    !isObject(header.versionsSeen) ||
    !Array.isArray(header.next)
  ) {
    throw new CorruptRecordError(
      `${where}, header`,
      "missing channelVersions, versionsSeen or next",
    );
  }
  const next = header.next.map((task, index) =>
    decodeTask(task, `${where}, next[${index}]`, serializer),
  );
  return {
    formatVersion: record.formatVersion,
    threadId: record.threadId,
    namespace: record.namespace,
    id: record.id,
    parentId: record.parentId,
    step: record.step,
    createdAt: new Date(record.createdAt),
    channelVersions: header.channelVersions as ChannelVersions,
    versionsSeen: header.versionsSeen as Record<string, ChannelVersions>,
    next,
    metadata: decodeMetadata(record.metadata, `${where}, metadata`),
    chain: {
      baseId: record.baseId,
      length: record.chainLength,
      deltaBytes: record.chainBytes,
      snapshotBytes: record.snapshotBytes,
    },
  };
}

function decodeTask(task: unknown, where: string, serializer: Serializer): PlannedTask {
  if (
    !isObject(task) ||
    typeof task.id !== "string" ||
    typeof task.node !== "string" ||
    !Array.isArray(task.triggers)
  ) {
    throw new CorruptRecordError(where, "a planned task needs id, node and triggers");
  }
  const base = { id: task.id, node: task.node, triggers: task.triggers as string[] };
  if (task.send === undefined) return base;
  if (!isObject(task.send) || typeof task.send.index !== "number") {
    throw new CorruptRecordError(where, "malformed Send");
  }
  return {
    ...base,
    send: { index: task.send.index, payload: serializer.fromJSON(task.send.payload, where) },
  };
}

function decodeMetadata(text: string, where: string): CheckpointMetadata {
  const metadata = parseGuarded(text, where);
  if (!isObject(metadata)) throw new CorruptRecordError(where, "metadata must be an object");
  return metadata as CheckpointMetadata;
}

export function decodeWrites(record: EncodedCheckpoint, serializer: Serializer): ChannelWrite[] {
  const where = `${recordLabel(record)}, writes`;
  const tuples = parseJson(record.writes, where);
  if (!Array.isArray(tuples)) throw new CorruptRecordError(where, "expected an array of writes");
  return tuples.map((tuple: unknown) => {
    if (
      !Array.isArray(tuple) ||
      tuple.length !== 3 ||
      typeof tuple[0] !== "string" ||
      typeof tuple[1] !== "string"
    ) {
      throw new CorruptRecordError(where, "a write must be [taskId, channel, value]");
    }
    const [taskId, channel, value] = tuple as WriteTuple;
    return { taskId, channel, value: serializer.fromJSON(value, `${where}, channel "${channel}"`) };
  });
}

export function decodeCheckpoint(record: EncodedCheckpoint, serializer: Serializer): Checkpoint {
  return { ...decodeHeader(record, serializer), writes: decodeWrites(record, serializer) };
}

export function decodeSnapshot(record: EncodedCheckpoint, serializer: Serializer): ChannelValues {
  const where = `${recordLabel(record)}, snapshot`;
  if (record.snapshot === null)
    throw new CorruptRecordError(where, "the base checkpoint holds no snapshot");
  const encoded = parseJson(record.snapshot, where);
  if (!isObject(encoded)) throw new CorruptRecordError(where, "expected an object of channels");
  const values: Record<string, unknown> = {};
  for (const [channel, value] of Object.entries(encoded)) {
    if (isForbiddenKey(channel))
      throw new CorruptRecordError(where, `the key "${channel}" is not allowed`);
    values[channel] = serializer.fromJSON(value, `${where}, channel "${channel}"`);
  }
  return values;
}

/**
 * The records from the target's base snapshot down to the target, base
 * first, following parent links. Throws if the chain is broken.
 */
export function chainPath(
  target: EncodedCheckpoint,
  byId: ReadonlyMap<string, EncodedCheckpoint>,
): EncodedCheckpoint[] {
  const path: EncodedCheckpoint[] = [];
  let cursor: EncodedCheckpoint | undefined = target;
  // The bound stops a hostile parent cycle from looping forever.
  while (cursor !== undefined && path.length <= byId.size) {
    path.push(cursor);
    if (cursor.id === target.baseId) {
      if (cursor.snapshot === null) break;
      return path.reverse();
    }
    cursor = cursor.parentId === null ? undefined : byId.get(cursor.parentId);
  }
  throw new CorruptRecordError(
    recordLabel(target),
    `its chain does not reach a snapshot at its base ${target.baseId}`,
  );
}

/**
 * Builds a LoadedCheckpoint from the target's segment: the records from its
 * base snapshot down to it (any order). Checks that they form one unbroken
 * chain, so a backend bug or damaged storage shows up as CorruptRecordError
 * instead of wrong state.
 */
export function decodeLoaded(
  target: EncodedCheckpoint,
  segment: readonly EncodedCheckpoint[],
  pending: readonly EncodedPendingWrite[],
  serializer: Serializer,
): LoadedCheckpoint {
  const path = chainPath(target, new Map(segment.map((record) => [record.id, record])));
  const base = path[0] as EncodedCheckpoint;
  const checkpoint = decodeCheckpoint(target, serializer);
  return {
    checkpoint,
    base: { checkpointId: base.id, values: decodeSnapshot(base, serializer) },
    deltas: path.slice(1).map((record) => ({
      checkpointId: record.id,
      step: record.step,
      writes: record === target ? checkpoint.writes : decodeWrites(record, serializer),
    })),
    pendingWrites: sortPending(pending).map((record) => decodePendingWrite(record, serializer)),
  };
}

export function decodePendingWrite(
  record: EncodedPendingWrite,
  serializer: Serializer,
): PendingWrite {
  const where = `pending write ${record.taskId}/${record.idx} of checkpoint ${record.checkpointId}`;
  assertSupportedVersion(record.formatVersion, where);
  return {
    taskId: record.taskId,
    idx: record.idx,
    channel: record.channel,
    value: serializer.deserialize(record.value, where),
  };
}

export function sortPending<T extends Pick<EncodedPendingWrite, "taskId" | "idx">>(
  writes: readonly T[],
): T[] {
  return [...writes].sort((a, b) =>
    a.taskId === b.taskId ? a.idx - b.idx : a.taskId < b.taskId ? -1 : 1,
  );
}

/** Top-level keys of `filter` must equal the metadata's, compared as JSON. */
export function matchesFilter(
  metadata: CheckpointMetadata,
  filter: Readonly<Record<string, JsonValue>> | undefined,
): boolean {
  if (filter === undefined) return true;
  return Object.entries(filter).every(([key, expected]) => jsonEqual(metadata[key], expected));
}

function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, JsonValue>;
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every(
    (key) => key in bRecord && jsonEqual((a as Record<string, JsonValue>)[key], bRecord[key]),
  );
}

function parseGuarded(text: string, where: string): unknown {
  const parsed = parseJson(text, where);
  assertSafePayload(parsed, where);
  return parsed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
