import {
  type ChannelValues,
  type ChannelWrite,
  type Checkpoint,
  type CheckpointHeader,
  type CheckpointMetadata,
  type JsonValue,
  FORMAT_VERSION,
} from "./checkpoint.js";
import type { LoadedCheckpoint } from "./checkpointer.js";
import { CorruptRecordError, UnsupportedFormatVersionError } from "./errors.js";
import { HeaderChain } from "./internal/header-chain.js";
import { ANCHOR_EVERY, rememberStored } from "./internal/header-delta.js";
import { isObject } from "./internal/header-v1.js";
import { assertSafePayload } from "./internal/payload-guard.js";
import { isValueTuple, reviveValue } from "./internal/value-tuple.js";
import { isForbiddenKey } from "./internal/value-check.js";
import type { PendingWrite } from "./pending-writes.js";
import type {
  EncodedCheckpoint,
  EncodedHeader,
  EncodedLink,
  EncodedPendingWrite,
  HeaderLink,
} from "./record.js";
import { parseJson, type Serializer } from "./serializer.js";

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

/**
 * Decodes one header. A format-3 header may be a delta from its parent's:
 * `links` are the records before it in its chain (with their headers) that
 * it may need, back to its anchor (see anchorOf); without them such a header
 * fails with CorruptRecordError. To decode many headers of one namespace,
 * use headerDecoder, which decodes each parent once.
 */
export function decodeHeader(
  record: EncodedHeader,
  serializer: Serializer,
  links: Iterable<HeaderLink> = [],
): CheckpointHeader {
  return headerDecoder(links, serializer)(record);
}

/**
 * A decoder for headers of one thread and namespace, resolving deltas through
 * `links` (by id: the page itself and the records before it that a backend
 * read with it) and decoding each of them once.
 */
export function headerDecoder(
  links: Iterable<HeaderLink> | ReadonlyMap<string, HeaderLink>,
  serializer: Serializer,
): (record: EncodedHeader) => CheckpointHeader {
  const byId: ReadonlyMap<string, HeaderLink> =
    links instanceof Map
      ? (links as ReadonlyMap<string, HeaderLink>)
      : new Map([...(links as Iterable<HeaderLink>)].map((link) => [link.id, link]));
  const chain = new HeaderChain(byId, serializer);
  return (record) => {
    const where = recordLabel(record);
    assertSupportedVersion(record.formatVersion, where);
    assertHeaderFields(record, where);
    const { channelVersions, versionsSeen, next } = chain.decode(record, `${where}, header`);
    rememberStored(channelVersions, versionsSeen);
    return {
      formatVersion: record.formatVersion,
      threadId: record.threadId,
      namespace: record.namespace,
      id: record.id,
      parentId: record.parentId,
      step: record.step,
      createdAt: new Date(record.createdAt),
      channelVersions,
      versionsSeen,
      next,
      metadata: decodeMetadata(record.metadata, `${where}, metadata`),
      chain: {
        baseId: record.baseId,
        length: record.chainLength,
        deltaBytes: record.chainBytes,
        snapshotBytes: record.snapshotBytes,
      },
    };
  };
}

/**
 * The chain length of the record a header at `chainLength` decodes from at
 * the farthest: a full header is written at every multiple of ANCHOR_EVERY.
 * A load reads the headers of its chain's records from there on.
 */
export function anchorOf(chainLength: number): number {
  return chainLength - (chainLength % ANCHOR_EVERY);
}

/**
 * The fields a backend hands over beside the JSON payloads: a damaged row
 * (a Redis hash edited by hand, say) must not become a header whose step is
 * text or whose chain is NaN.
 */
function assertHeaderFields(record: EncodedHeader, where: string): void {
  const fields = record as unknown as Record<string, unknown>;
  for (const name of ["threadId", "namespace", "id", "baseId"]) {
    if (typeof fields[name] !== "string")
      throw new CorruptRecordError(where, `${name} must be text`);
  }
  if (record.parentId !== null && typeof record.parentId !== "string") {
    throw new CorruptRecordError(where, "parentId must be text or null");
  }
  for (const name of ["step", "createdAt", "chainLength", "chainBytes", "snapshotBytes"]) {
    const value = fields[name];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new CorruptRecordError(where, `${name} must be a number, got ${String(value)}`);
    }
  }
}

function decodeMetadata(text: string, where: string): CheckpointMetadata {
  const metadata = parseJson(text, where);
  assertSafePayload(metadata, where);
  if (!isObject(metadata)) throw new CorruptRecordError(where, "metadata must be an object");
  return metadata as CheckpointMetadata;
}

/** Format 1: [taskId, channel, { json, meta }]; since 2: [taskId, channel, json(, meta)]. */
export function decodeWrites(record: EncodedLink, serializer: Serializer): ChannelWrite[] {
  const where = `${recordLabel(record)}, writes`;
  assertSupportedVersion(record.formatVersion, where);
  const valueAt = record.formatVersion === 1 ? -1 : 2;
  const tuples = parseJson(record.writes, where);
  if (!Array.isArray(tuples)) throw new CorruptRecordError(where, "expected an array of writes");
  return tuples.map((tuple: unknown) => {
    if (
      !Array.isArray(tuple) ||
      typeof tuple[0] !== "string" ||
      typeof tuple[1] !== "string" ||
      (valueAt === -1 ? tuple.length !== 3 : !isValueTuple(tuple, valueAt))
    ) {
      throw new CorruptRecordError(where, "a write must be [taskId, channel, value]");
    }
    const [taskId, channel] = tuple as [string, string];
    const at = `${where}, channel "${channel}"`;
    const value =
      valueAt === -1
        ? serializer.fromJSON(tuple[2], at)
        : reviveValue(tuple, valueAt, at, serializer);
    return { taskId, channel, value };
  });
}

/** A whole record; `links` as for decodeHeader. */
export function decodeCheckpoint(
  record: EncodedCheckpoint,
  serializer: Serializer,
  links: Iterable<HeaderLink> = [],
): Checkpoint {
  return { ...decodeHeader(record, serializer, links), writes: decodeWrites(record, serializer) };
}

/** Format 1: { channel: { json, meta } }; since 2: [[channel, json(, meta)], …]. */
export function decodeSnapshot(record: EncodedLink, serializer: Serializer): ChannelValues {
  const where = `${recordLabel(record)}, snapshot`;
  assertSupportedVersion(record.formatVersion, where);
  if (record.snapshot === null)
    throw new CorruptRecordError(where, "the base checkpoint holds no snapshot");
  const encoded = parseJson(record.snapshot, where);
  const entries =
    record.formatVersion === 1 ? (isObject(encoded) ? Object.entries(encoded) : null) : encoded;
  if (!Array.isArray(entries)) throw new CorruptRecordError(where, "expected the channels' values");
  const values: Record<string, unknown> = {};
  for (const entry of entries as unknown[]) {
    const channel: unknown = Array.isArray(entry) ? entry[0] : undefined;
    if (typeof channel !== "string") throw new CorruptRecordError(where, "expected a channel name");
    if (isForbiddenKey(channel))
      throw new CorruptRecordError(where, `the key "${channel}" is not allowed`);
    const at = `${where}, channel "${channel}"`;
    values[channel] =
      record.formatVersion === 1
        ? serializer.fromJSON((entry as unknown[])[1], at)
        : reviveValue(entry as unknown[], 1, at, serializer);
  }
  return values;
}

/**
 * The records from the target's base snapshot down to the target, base
 * first, following parent links. Throws if the chain is broken.
 */
export function chainPath(
  target: EncodedCheckpoint,
  byId: ReadonlyMap<string, EncodedLink>,
): EncodedLink[] {
  const path: EncodedLink[] = [];
  let cursor: EncodedLink | undefined = target;
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
 * base snapshot down to it (any order), with their headers from the target's
 * anchor on (anchorOf). Checks that they form one unbroken
 * chain, so a backend bug or damaged storage shows up as CorruptRecordError
 * instead of wrong state.
 */
export function decodeLoaded(
  target: EncodedCheckpoint,
  segment: readonly EncodedLink[],
  pending: readonly EncodedPendingWrite[],
  serializer: Serializer,
): LoadedCheckpoint {
  const byId = new Map(segment.map((record) => [record.id, record]));
  const path = chainPath(target, byId);
  const base = path[0] as EncodedLink;
  const checkpoint = {
    ...headerDecoder(byId, serializer)(target),
    writes: decodeWrites(target, serializer),
  };
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

/**
 * A stored pending write with its value revived; CorruptRecordError or
 * UnsupportedFormatVersionError when it cannot be read.
 */
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
    value:
      record.formatVersion === 1
        ? serializer.deserialize(record.value, where)
        : decodePendingValue(record.value, where, serializer),
  };
}

/** Since format 2 a pending write's value is [json(, meta)]. */
function decodePendingValue(text: string, where: string, serializer: Serializer): unknown {
  const tuple = parseJson(text, where);
  if (!Array.isArray(tuple)) throw new CorruptRecordError(where, "expected [json, meta]");
  return reviveValue(tuple, 0, where, serializer);
}

/** A copy of the pending writes in the order `get` returns them: by task id, then idx. */
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
