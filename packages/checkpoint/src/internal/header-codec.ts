import type { ChannelVersions, PlannedTask } from "../checkpoint.js";
import { CorruptRecordError, InvalidArgumentError } from "../errors.js";
import type { Serializer } from "../serializer.js";
import { assertId, assertInteger, isId } from "./arguments.js";
import { isValueTuple, reviveValue, valueTuple } from "./value-tuple.js";
import { formatKey, isForbiddenKey } from "./value-check.js";

/**
 * The header of format 2: what the planner needs (channel versions, the
 * versions each node has seen, the plan) as one JSON array, with every
 * channel name written once:
 *
 *   [channels, seen, next]
 *   channels  [name, version, name, version, …]: channelVersions in key order,
 *             then any other channel the header names, with version null
 *   seen      [[node, channel, version, channel, version, …], …]: versionsSeen,
 *             each channel as its position in `channels`
 *   next      [[id, node, [channel, …]], …]: the plan, triggers as positions;
 *             a Send task adds its index and payload: [id, node, [], index, json(, meta)]
 *
 * Format 1 wrote `{"channelVersions":{…},"versionsSeen":{…},"next":[{"id","node","triggers"}]}`:
 * in a 10-node chain each channel name appeared up to three times, and the
 * field names on every task.
 */

type Seen = Readonly<Record<string, ChannelVersions>>;

export function encodeHeader(
  channelVersions: ChannelVersions,
  versionsSeen: Seen,
  next: readonly PlannedTask[],
  serializer: Serializer,
): string {
  // Built as text: a put's header is mostly the same few names, each quoted once per process.
  if (
    channelVersions === null ||
    typeof channelVersions !== "object" ||
    Array.isArray(channelVersions)
  ) {
    throw new InvalidArgumentError(
      "checkpoint.channelVersions",
      "expected an object of channel versions",
    );
  }
  let channels = "";
  const position = new Map<string, number>();
  for (const channel in channelVersions) {
    const version = channelVersions[channel];
    if (typeof version !== "number" || !Number.isFinite(version)) {
      throw new InvalidArgumentError(
        `checkpoint.channelVersions${formatKey(channel)}`,
        "expected a finite number",
      );
    }
    channels += `${position.size === 0 ? "" : ","}${quoteName(channel, "checkpoint.channelVersions")},${version}`;
    position.set(channel, position.size);
  }
  const positionOf = (channel: string, argument: string): number => {
    let at = position.get(channel);
    if (at === undefined) {
      channels += `${position.size === 0 ? "" : ","}${quoteName(channel, argument)},null`;
      at = position.size;
      position.set(channel, at);
    }
    return at;
  };

  if (versionsSeen === null || typeof versionsSeen !== "object") {
    throw new InvalidArgumentError("checkpoint.versionsSeen", "expected an object");
  }
  let seen = "";
  for (const node in versionsSeen) {
    seen += `${seen === "" ? "" : ","}${seenEntry(node, versionsSeen[node]!, positionOf)}`;
  }

  const tasks = encodeTasks(next, positionOf, serializer);
  return `[[${channels}],[${seen}],[${tasks}]]`;
}

/** The plan as format 2 and 3 write it; `positionOf` gives a trigger's place in the channel table. */
export function encodeTasks(
  next: readonly PlannedTask[],
  positionOf: (channel: string, argument: string) => number,
  serializer: Serializer,
): string {
  if (!Array.isArray(next)) throw new InvalidArgumentError("checkpoint.next", "expected an array");
  let tasks = "";
  next.forEach((task: PlannedTask, index) => {
    if (!isId(task.id) || !isId(task.node)) {
      assertId(task.id, `checkpoint.next[${index}].id`);
      assertId(task.node, `checkpoint.next[${index}].node`);
    }
    const argument = `checkpoint.next[${index}].triggers`;
    if (!Array.isArray(task.triggers)) {
      throw new InvalidArgumentError(argument, "expected an array of channel names");
    }
    const triggers = task.triggers.map((trigger: unknown) => {
      if (typeof trigger !== "string") {
        throw new InvalidArgumentError(argument, "expected an array of channel names");
      }
      return positionOf(trigger, argument);
    });
    tasks += `${index === 0 ? "[" : ",["}${JSON.stringify(task.id)},${quoteName(task.node)},[${triggers.join(",")}]`;
    if (task.send !== undefined) {
      assertInteger(task.send.index, `checkpoint.next[${index}].send.index`, 0);
      const payload = serializer.toJSON(
        task.send.payload,
        `Send payload of task ${task.id}`,
        "payload",
      );
      tasks += `,${task.send.index},${JSON.stringify(valueTuple(payload)).slice(1, -1)}`;
    }
    tasks += "]";
  });
  return tasks;
}

/**
 * Channel and node names as JSON strings, quoted once per process (a graph
 * has a fixed set). Only names that may be object keys on load are cached,
 * so a cached name needs no further check. With `argument`, a reserved name
 * is refused; node names of a plan may be anything an id may be.
 */
const quotedNames = new Map<string, string>();
const MAX_QUOTED_NAMES = 10_000;

export function quoteName(name: string, argument?: string): string {
  const cached = quotedNames.get(name);
  if (cached !== undefined) return cached;
  if (isForbiddenKey(name)) {
    if (argument !== undefined) {
      throw new InvalidArgumentError(argument, `reserved name "${name}"`);
    }
    return JSON.stringify(name);
  }
  if (!isId(name)) assertId(name, argument ?? "checkpoint.next node");
  const quoted = JSON.stringify(name);
  if (quotedNames.size < MAX_QUOTED_NAMES) quotedNames.set(name, quoted);
  return quoted;
}

/** Version maps already checked (frozen in practice: the runtime never changes one after a put). */
const checkedVersions = new WeakSet<object>();

/**
 * One node's entry of `seen`, `[node, channel position, version, …]`, its
 * map checked first (once per map object: most are the same superstep after
 * superstep). Shared by the full header and the delta.
 */
export function seenEntry(
  node: string,
  versions: ChannelVersions,
  positionOf: (channel: string, argument: string) => number,
): string {
  if (!checkedVersions.has(versions)) {
    checkVersions(versions, "checkpoint.versionsSeen", node);
    checkedVersions.add(versions);
  }
  let entry = `[${quoteName(node, "checkpoint.versionsSeen")}`;
  for (const channel in versions) {
    entry += `,${positionOf(channel, "checkpoint.versionsSeen")},${versions[channel]!}`;
  }
  return `${entry}]`;
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

export interface DecodedHeader {
  readonly channelVersions: ChannelVersions;
  readonly versionsSeen: Seen;
  readonly next: PlannedTask[];
}

/**
 * Reads a format-2 header (and a full one of format 3, which is the same).
 * Every name becomes an object key only after it is checked, so no stored
 * text can reach a prototype.
 */
export function decodeHeaderV2(
  parsed: unknown,
  where: string,
  serializer: Serializer,
): DecodedHeader {
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every(Array.isArray)) {
    throw new CorruptRecordError(where, "expected [channels, seen, next]");
  }
  const [channels, seen, tasks] = parsed as [unknown[], unknown[], unknown[]];
  const table = readChannels(channels, where);
  const channelVersions: Record<string, number> = {};
  for (const [name, version] of table.entries)
    if (version !== null) channelVersions[name] = version;
  const versionsSeen: Record<string, ChannelVersions> = {};
  for (const [node, versions] of readSeen(seen, table.nameAt, where)) versionsSeen[node] = versions;
  return { channelVersions, versionsSeen, next: readTasks(tasks, table.nameAt, where, serializer) };
}

/** A header's channel table: `[name, version or null, …]`, each name checked. */
export function readChannels(channels: unknown[], where: string) {
  if (channels.length % 2 !== 0) throw new CorruptRecordError(where, "malformed channels");
  const names: string[] = [];
  const entries: [string, number | null][] = [];
  for (let i = 0; i < channels.length; i += 2) {
    const name = channels[i];
    const version = channels[i + 1];
    if (typeof name !== "string" || isForbiddenKey(name)) {
      throw new CorruptRecordError(where, `invalid channel name ${String(name)}`);
    }
    if (version !== null && typeof version !== "number") {
      throw new CorruptRecordError(where, "malformed channels");
    }
    names.push(name);
    entries.push([name, version]);
  }
  const nameAt = (at: unknown): string => {
    const name = typeof at === "number" ? names[at] : undefined;
    if (name === undefined) throw new CorruptRecordError(where, `no channel at ${String(at)}`);
    return name;
  };
  return { entries, nameAt };
}

/** `[[node, channel, version, …], …]`: each node's seen versions, channels by position. */
export function readSeen(
  seen: unknown[],
  nameAt: (at: unknown) => string,
  where: string,
): [string, ChannelVersions][] {
  return seen.map((entry) => {
    if (!Array.isArray(entry) || entry.length % 2 !== 1) {
      throw new CorruptRecordError(where, "malformed versionsSeen");
    }
    const node: unknown = entry[0];
    if (typeof node !== "string" || isForbiddenKey(node)) {
      throw new CorruptRecordError(where, `invalid node name ${String(node)}`);
    }
    const versions: Record<string, number> = {};
    for (let i = 1; i < entry.length; i += 2) {
      const version: unknown = entry[i + 1];
      if (typeof version !== "number")
        throw new CorruptRecordError(where, "malformed versionsSeen");
      versions[nameAt(entry[i])] = version;
    }
    return [node, versions];
  });
}

/** The plan, triggers by position; a Send task carries its index and payload. */
export function readTasks(
  tasks: unknown[],
  nameAt: (at: unknown) => string,
  where: string,
  serializer: Serializer,
): PlannedTask[] {
  return tasks.map((task, index): PlannedTask => {
    const at = `${where}, next[${index}]`;
    if (
      !Array.isArray(task) ||
      typeof task[0] !== "string" ||
      typeof task[1] !== "string" ||
      !Array.isArray(task[2])
    ) {
      throw new CorruptRecordError(at, "a planned task needs id, node and triggers");
    }
    const triggers = (task[2] as unknown[]).map(nameAt);
    if (task.length === 3) return { id: task[0], node: task[1], triggers };
    if (typeof task[3] !== "number" || !isValueTuple(task, 4)) {
      throw new CorruptRecordError(at, "malformed Send");
    }
    return {
      id: task[0],
      node: task[1],
      triggers,
      send: { index: task[3], payload: reviveValue(task, 4, at, serializer) },
    };
  });
}
