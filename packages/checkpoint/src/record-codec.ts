import {
  FORMAT_VERSION,
  type ChannelValues,
  type ChannelVersions,
  type ChannelWrite,
  type CheckpointHeader,
  type CheckpointMetadata,
  type PlannedTask,
} from "./checkpoint.js";
import type { PutRequest } from "./checkpointer.js";
import { newCheckpointId } from "./checkpoint-id.js";
import { InvalidArgumentError, UnserializableValueError } from "./errors.js";
import { assertId, assertInteger, resolveNamespace } from "./internal/arguments.js";
import { formatKey, isForbiddenKey } from "./internal/value-check.js";
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
}

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

  const writes = encodeWrites(input.writes, serializer);
  const isFork = parent !== null && parent.id !== expectedHeadId;
  const chainParent = isFork ? null : (parent?.chain ?? null);
  const snapshot =
    request.forceSnapshot === true || isSnapshotDue(policy, chainParent, writes.length)
      ? encodeSnapshot(request.snapshot(), serializer)
      : null;
  const chain =
    snapshot !== null || chainParent === null
      ? { baseId: id, length: 0, deltaBytes: 0, snapshotBytes: snapshot?.length ?? 0 }
      : {
          baseId: chainParent.baseId,
          length: chainParent.length + 1,
          deltaBytes: chainParent.deltaBytes + writes.length,
          snapshotBytes: chainParent.snapshotBytes,
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
    header: encodeHeader(input.channelVersions, input.versionsSeen, input.next, serializer),
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
  return { record, header, expectedHeadId };
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

function encodeWrites(writes: readonly ChannelWrite[], serializer: Serializer): string {
  assertArray(writes, "checkpoint.writes");
  const tuples = writes.map((write, index) => {
    if (!isId(write.taskId) || !isId(write.channel)) {
      assertId(write.taskId, `checkpoint.writes[${index}].taskId`);
      assertId(write.channel, `checkpoint.writes[${index}].channel`);
    }
    return [
      write.taskId,
      write.channel,
      serializer.toJSON(write.value, `channel "${write.channel}"`, write.channel),
    ];
  });
  return JSON.stringify(tuples);
}

function encodeSnapshot(values: ChannelValues, serializer: Serializer): string {
  if (values === null || typeof values !== "object") {
    throw new InvalidArgumentError("snapshot()", "expected an object of channel values");
  }
  const encoded: Record<string, unknown> = {};
  for (const [channel, value] of Object.entries(values)) {
    if (isForbiddenKey(channel))
      throw new InvalidArgumentError("snapshot()", `reserved channel name "${channel}"`);
    encoded[channel] = serializer.toJSON(value, `channel "${channel}"`, channel);
  }
  return JSON.stringify(encoded);
}

function encodeHeader(
  channelVersions: ChannelVersions,
  versionsSeen: Readonly<Record<string, ChannelVersions>>,
  next: readonly PlannedTask[],
  serializer: Serializer,
): string {
  checkVersions(channelVersions, "checkpoint.channelVersions");
  if (versionsSeen === null || typeof versionsSeen !== "object") {
    throw new InvalidArgumentError("checkpoint.versionsSeen", "expected an object");
  }
  for (const node in versionsSeen) {
    const versions = versionsSeen[node]!;
    // Most nodes' maps are the same objects superstep after superstep: check each once.
    if (checkedVersions.has(versions)) continue;
    checkVersions(versions, "checkpoint.versionsSeen", node);
    checkedVersions.add(versions);
  }
  assertArray(next, "checkpoint.next");
  const tasks = next.map((task, index) => {
    if (!isId(task.id) || !isId(task.node)) {
      assertId(task.id, `checkpoint.next[${index}].id`);
      assertId(task.node, `checkpoint.next[${index}].node`);
    }
    if (
      !Array.isArray(task.triggers) ||
      !task.triggers.every((t: unknown) => typeof t === "string")
    ) {
      throw new InvalidArgumentError(
        `checkpoint.next[${index}].triggers`,
        "expected an array of channel names",
      );
    }
    if (task.send === undefined) return { id: task.id, node: task.node, triggers: task.triggers };
    assertInteger(task.send.index, `checkpoint.next[${index}].send.index`, 0);
    const payload = serializer.toJSON(
      task.send.payload,
      `Send payload of task ${task.id}`,
      "payload",
    );
    return {
      id: task.id,
      node: task.node,
      triggers: task.triggers,
      send: { index: task.send.index, payload },
    };
  });
  return JSON.stringify({ channelVersions, versionsSeen, next: tasks });
}

/** Version maps already checked (frozen in practice: the runtime never changes one after a put). */
const checkedVersions = new WeakSet<object>();

/** The common case of assertId, without building an argument name. */
function isId(value: unknown): boolean {
  return (
    typeof value === "string" &&
    value.length > 0 &&
    value.length <= 512 &&
    !value.includes("\u0000")
  );
}

/** `node` names the entry of versionsSeen being checked; its path is built only on failure. */
function checkVersions(versions: ChannelVersions, base: string, node?: string): void {
  const argument = (channel?: string) =>
    `${base}${node === undefined ? "" : formatKey(node)}${channel === undefined ? "" : formatKey(channel)}`;
  if (versions === null || typeof versions !== "object" || Array.isArray(versions)) {
    throw new InvalidArgumentError(argument(), "expected an object of channel versions");
  }
  for (const channel in versions) {
    const version = versions[channel];
    if (isForbiddenKey(channel))
      throw new InvalidArgumentError(argument(), `reserved channel name "${channel}"`);
    if (typeof version !== "number" || !Number.isFinite(version)) {
      throw new InvalidArgumentError(argument(channel), "expected a finite number");
    }
  }
}

function encodeMetadata(metadata: CheckpointMetadata): string {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new InvalidArgumentError("checkpoint.metadata", "expected a plain object");
  }
  checkJson(metadata, "metadata");
  return JSON.stringify(metadata);
}

/** Metadata is plain JSON so that every backend can filter on it. */
function checkJson(value: unknown, path: string): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
    throw new UnserializableValueError("metadata", path, `${value} is not valid JSON`);
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJson(item, `${path}[${index}]`));
    return;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      if (isForbiddenKey(key))
        throw new UnserializableValueError("metadata", `${path}${formatKey(key)}`, "reserved key");
      checkJson(item, `${path}${formatKey(key)}`);
    }
    return;
  }
  throw new UnserializableValueError(
    "metadata",
    path,
    `metadata must be plain JSON, got ${typeof value}`,
  );
}

export function encodePendingWrites(
  target: { threadId: string; namespace: string; checkpointId: string },
  writes: readonly PendingWrite[],
  serializer: Serializer,
): EncodedPendingWrite[] {
  assertArray(writes, "writes");
  return writes.map((write, index) => {
    assertId(write.taskId, `writes[${index}].taskId`);
    assertId(write.channel, `writes[${index}].channel`);
    assertInteger(write.idx, `writes[${index}].idx`, Number.MIN_SAFE_INTEGER);
    return {
      formatVersion: FORMAT_VERSION,
      threadId: target.threadId,
      namespace: target.namespace,
      checkpointId: target.checkpointId,
      taskId: write.taskId,
      idx: write.idx,
      channel: write.channel,
      value: serializer.serialize(
        write.value,
        `pending write to channel "${write.channel}"`,
        write.channel,
      ),
    };
  });
}
