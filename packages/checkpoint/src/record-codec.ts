import {
  FORMAT_VERSION,
  type ChannelValues,
  type ChannelWrite,
  type CheckpointHeader,
  type CheckpointMetadata,
} from "./checkpoint.js";
import type { PutRequest } from "./checkpointer.js";
import { newCheckpointId } from "./checkpoint-id.js";
import { InvalidArgumentError, UnserializableValueError } from "./errors.js";
import { assertId, assertInteger, isId, resolveNamespace } from "./internal/arguments.js";
import { encodeHeader } from "./internal/header-codec.js";
import {
  ANCHOR_EVERY,
  encodeHeaderDelta,
  isStored,
  rememberStored,
} from "./internal/header-delta.js";
import { checkFence } from "./internal/run-rules.js";
import { MAX_DEPTH, formatKey, isForbiddenKey, isPlainJson } from "./internal/value-check.js";
import { assertStorableMetadata } from "./internal/metadata-text.js";
import { valueTuple } from "./internal/value-tuple.js";
import type { PendingWrite } from "./pending-writes.js";
import type { EncodedCheckpoint, EncodedPendingWrite } from "./record.js";
import type { Serializer } from "./serializer.js";
import { isSnapshotDue, type SnapshotPolicy } from "./snapshot-policy.js";

/**
 * Encoding of stored records, shared by every backend so that they all store
 * the same bytes and apply the same checks. A backend stores what `encodePut`
 * returns and hands rows back to the decoders (record-decode.ts).
 */

export interface EncodedPut {
  readonly record: EncodedCheckpoint;
  /** What `put` returns to the caller. */
  readonly header: CheckpointHeader;
  /** The write succeeds only if the thread's head is still this. */
  readonly expectedHeadId: string | null;
  /**
   * `request.pendingWrites`, encoded against the new checkpoint, to store in
   * the same atomic write; undefined when there are none.
   */
  readonly pendingWrites: EncodedPendingWrite[] | undefined;
}

/**
 * Checks a put request and encodes it as the record to store, with the header
 * `put` returns and its pending writes. Asks the request for a snapshot only
 * when the policy makes one due (or `forceSnapshot` is set); writes nothing itself.
 */
export function encodePut(
  request: PutRequest,
  serializer: Serializer,
  policy: SnapshotPolicy,
  now: number = Date.now(),
): EncodedPut {
  const input = request.checkpoint;
  assertId(input.threadId, "checkpoint.threadId");
  const namespace = resolveNamespace(input.namespace, "checkpoint.namespace");
  assertInteger(input.step, "checkpoint.step", -1);
  if (request.fence !== undefined) checkFence(request.fence);
  const parent = request.parent;
  if (parent !== null) assertId(parent.id, "parent.id");
  const expectedHeadId =
    request.expectedHeadId === undefined ? (parent?.id ?? null) : request.expectedHeadId;
  if (expectedHeadId !== null) assertId(expectedHeadId, "expectedHeadId");
  const id = input.id ?? newCheckpointId(maxId(expectedHeadId, parent?.id ?? null));
  assertId(id, "checkpoint.id");
  for (const earlier of [expectedHeadId, parent?.id ?? null]) {
    if (earlier !== null && id <= earlier) {
      throw new InvalidArgumentError(
        "checkpoint.id",
        `"${id}" must sort after "${earlier}"; use newCheckpointId(head)`,
      );
    }
  }

  const { text: writes, adding } = encodeWrites(input.writes, serializer, request.accumulating);
  const delta = { replacing: writes.length - adding, adding };
  const pending = request.pendingWrites;
  const pendingWrites =
    pending === undefined || pending.length === 0
      ? undefined
      : encodePendingWrites(
          { threadId: input.threadId, namespace, checkpointId: id },
          pending,
          serializer,
          "pendingWrites",
        );
  const isFork = parent !== null && parent.id !== expectedHeadId;
  const chainParent = isFork ? null : (parent?.chain ?? null);
  const snapshot =
    request.forceSnapshot === true || isSnapshotDue(policy, chainParent, delta)
      ? encodeSnapshot(request.snapshot(), serializer)
      : null;
  const chain =
    snapshot !== null || chainParent === null
      ? { baseId: id, length: 0, deltaBytes: 0, snapshotBytes: snapshot?.length ?? 0 }
      : {
          baseId: chainParent.baseId,
          length: chainParent.length + 1,
          deltaBytes: chainParent.deltaBytes + delta.replacing,
          snapshotBytes: chainParent.snapshotBytes + delta.adding,
        };
  const metadata = input.metadata ?? {};
  const record: EncodedCheckpoint = {
    formatVersion: FORMAT_VERSION,
    threadId: input.threadId,
    namespace,
    id,
    parentId: parent?.id ?? null,
    step: input.step,
    createdAt: now,
    baseId: chain.baseId,
    chainLength: chain.length,
    chainBytes: chain.deltaBytes,
    snapshotBytes: chain.snapshotBytes,
    nextCount: input.next.length,
    metadata: encodeMetadata(metadata),
    header: encodeRecordHeader(
      input,
      chainParent === null ? null : parent,
      chain.length,
      serializer,
    ),
    writes,
    snapshot,
  };
  const header: CheckpointHeader = {
    formatVersion: FORMAT_VERSION,
    threadId: record.threadId,
    namespace,
    id,
    parentId: record.parentId,
    step: record.step,
    createdAt: new Date(now),
    channelVersions: input.channelVersions,
    versionsSeen: input.versionsSeen,
    next: input.next,
    metadata,
    chain,
  };
  return { record, header, expectedHeadId, pendingWrites };
}

/**
 * The header, as a delta from the parent's when it has one to follow (not a
 * fork, the parent's versions given as put or a load returned them, not at a
 * snapshot or an anchor: see internal/header-delta.ts), else in full.
 */
function encodeRecordHeader(
  input: PutRequest["checkpoint"],
  parent: PutRequest["parent"],
  chainLength: number,
  serializer: Serializer,
): string {
  const { channelVersions, versionsSeen, next } = input;
  const text =
    (parent !== null &&
      chainLength % ANCHOR_EVERY !== 0 &&
      isStored(parent) &&
      encodeHeaderDelta(channelVersions, versionsSeen, next, parent, serializer)) ||
    encodeHeader(channelVersions, versionsSeen, next, serializer);
  // The header put returns may be the parent of the next put.
  rememberStored(channelVersions, versionsSeen);
  return text;
}

/** Checked in a function of its own: Array.isArray would drop the readonly element type. */
function assertArray(value: readonly unknown[], argument: string): void {
  if (!Array.isArray(value)) throw new InvalidArgumentError(argument, "expected an array");
}

function maxId(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

/** [[taskId, channel, json(, meta)], …] (see value-tuple.ts). */
/**
 * The delta as JSON text, and how much of it (in characters) is writes to
 * accumulating channels. Tuples are stringified one by one (joined as
 * JSON.stringify joins an array) so that each one's size is known.
 */
function encodeWrites(
  writes: readonly ChannelWrite[],
  serializer: Serializer,
  accumulating: ReadonlySet<string> | undefined,
): { readonly text: string; readonly adding: number } {
  assertArray(writes, "checkpoint.writes");
  let adding = 0;
  const tuples = writes.map((write, index) => {
    if (!isId(write.taskId) || !isId(write.channel)) {
      assertId(write.taskId, `checkpoint.writes[${index}].taskId`);
      assertId(write.channel, `checkpoint.writes[${index}].channel`);
    }
    const value = serializer.toJSON(write.value, `channel "${write.channel}"`, write.channel);
    const text = JSON.stringify(
      value.meta === undefined
        ? [write.taskId, write.channel, value.json]
        : [write.taskId, write.channel, value.json, value.meta],
    );
    if (accumulating?.has(write.channel) === true) adding += text.length + 1;
    return text;
  });
  return { text: `[${tuples.join(",")}]`, adding };
}

function encodeSnapshot(values: ChannelValues, serializer: Serializer): string {
  if (values === null || typeof values !== "object") {
    throw new InvalidArgumentError("snapshot()", "expected an object of channel values");
  }
  const tuples: unknown[][] = [];
  for (const [channel, value] of Object.entries(values)) {
    if (isForbiddenKey(channel))
      throw new InvalidArgumentError("snapshot()", `reserved channel name "${channel}"`);
    if (!isId(channel)) assertId(channel, "snapshot() channel name");
    tuples.push([
      channel,
      ...valueTuple(serializer.toJSON(value, `channel "${channel}"`, channel)),
    ]);
  }
  return JSON.stringify(tuples);
}

function encodeMetadata(metadata: CheckpointMetadata): string {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new InvalidArgumentError("checkpoint.metadata", "expected a plain object");
  }
  // The walk that names the offending path runs only when the quick one fails.
  if (!isPlainJson(metadata)) checkJson(metadata, "metadata");
  const text = JSON.stringify(metadata);
  assertStorableMetadata(metadata, text, "metadata");
  return text;
}

/**
 * Metadata is plain JSON so that every backend can filter on it. The walk
 * that names what is wrong: `ancestors` are the containers above `value`
 * (a repeated object is fine in JSON text, a cycle is not).
 */
function checkJson(value: unknown, path: string, ancestors: object[] = []): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
    throw new UnserializableValueError("metadata", path, `${value} is not valid JSON`);
  }
  const isArray = Array.isArray(value);
  if (
    !isArray &&
    (typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype)
  ) {
    throw new UnserializableValueError(
      "metadata",
      path,
      `metadata must be plain JSON, got ${typeof value}`,
    );
  }
  if (ancestors.includes(value)) {
    throw new UnserializableValueError("metadata", path, "a cycle (it contains itself)");
  }
  if (ancestors.length >= MAX_DEPTH) {
    throw new UnserializableValueError("metadata", path, `nesting deeper than ${MAX_DEPTH} levels`);
  }
  ancestors.push(value);
  if (isArray) {
    value.forEach((item, index) => checkJson(item, `${path}[${index}]`, ancestors));
  } else {
    for (const [key, item] of Object.entries(value)) {
      if (isForbiddenKey(key))
        throw new UnserializableValueError("metadata", `${path}${formatKey(key)}`, "reserved key");
      checkJson(item, `${path}${formatKey(key)}`, ancestors);
    }
  }
  ancestors.pop();
}

/** `argument` names the list in errors: `writes` of putPendingWrites, `pendingWrites` of a put. */
export function encodePendingWrites(
  target: { threadId: string; namespace: string; checkpointId: string },
  writes: readonly PendingWrite[],
  serializer: Serializer,
  argument = "writes",
): EncodedPendingWrite[] {
  assertArray(writes, argument);
  return writes.map((write, index) => {
    assertId(write.taskId, `${argument}[${index}].taskId`);
    assertId(write.channel, `${argument}[${index}].channel`);
    assertInteger(write.idx, `${argument}[${index}].idx`, Number.MIN_SAFE_INTEGER);
    return {
      formatVersion: FORMAT_VERSION,
      threadId: target.threadId,
      namespace: target.namespace,
      checkpointId: target.checkpointId,
      taskId: write.taskId,
      idx: write.idx,
      channel: write.channel,
      value: JSON.stringify(
        valueTuple(
          serializer.toJSON(
            write.value,
            `pending write to channel "${write.channel}"`,
            write.channel,
          ),
        ),
      ),
    };
  });
}
