import type { ChannelVersions, PlannedTask } from "../checkpoint.js";
import { CorruptRecordError } from "../errors.js";
import type { Serializer } from "../serializer.js";
import type { DecodedHeader } from "./header-codec.js";
import { assertSafePayload } from "./payload-guard.js";

/**
 * Reads a format-1 header, `{"channelVersions","versionsSeen","next"}`,
 * each Send payload in superjson's `{ json, meta }` form. Kept so that
 * records written before format 2 load exactly as they did.
 */
export function decodeHeaderV1(
  header: unknown,
  where: string,
  serializer: Serializer,
): DecodedHeader {
  assertSafePayload(header, where);
  if (
    !isObject(header) ||
    !isObject(header.channelVersions) ||
    !isObject(header.versionsSeen) ||
    !Array.isArray(header.next)
  ) {
    throw new CorruptRecordError(where, "missing channelVersions, versionsSeen or next");
  }
  return {
    channelVersions: header.channelVersions as ChannelVersions,
    versionsSeen: header.versionsSeen as Record<string, ChannelVersions>,
    next: header.next.map((task, index) =>
      decodeTask(task, `${where}, next[${index}]`, serializer),
    ),
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

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
