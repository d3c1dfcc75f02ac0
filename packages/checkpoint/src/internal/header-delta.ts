import type { ChannelVersions, PlannedTask } from "../checkpoint.js";
import { CorruptRecordError, InvalidArgumentError } from "../errors.js";
import type { Serializer } from "../serializer.js";
import {
  encodeTasks,
  quoteName,
  readChannels,
  readSeen,
  readTasks,
  seenEntry,
  type DecodedHeader,
} from "./header-codec.js";
import { formatKey, isForbiddenKey } from "./value-check.js";

/**
 * A format-3 header may be a delta from its parent's header: a superstep
 * changes two or three channel versions and one node's seen versions, while
 * a full header repeats every channel and node (about 340 B in a 10-node chain):
 *
 *   [channels, seen, next, removedChannels, removedNodes]
 *   channels         [name, version, …]: the channels whose version changed or
 *                    that are new, in the checkpoint's key order; then the other
 *                    names `seen` and `next` refer to, with version null (unchanged)
 *   seen             [[node, channel, version, …], …]: each node whose seen map
 *                    changed or is new, its whole map, channels by position
 *   next             the whole plan, as in a full header
 *   removedChannels  [name, …] and removedNodes [name, …]: keys the parent had
 *
 * Applied to the parent's header it gives the checkpoint's, key order included:
 * kept keys keep their place and new ones come last. When the checkpoint's
 * keys are in another order, the encoder writes a full header instead.
 *
 * A full header is `[channels, seen, next]` as in format 2. The checkpointer
 * writes one at every snapshot base, for a fork, when it is not given the
 * parent's versions, and every ANCHOR_EVERY checkpoints of a chain, so a
 * header decodes from at most ANCHOR_EVERY - 1 earlier ones of its chain.
 */
export const ANCHOR_EVERY = 16;

type Seen = Readonly<Record<string, ChannelVersions>>;

/** The parent's versions, as `put` returned them or a load decoded them. */
export interface HeaderParent {
  readonly channelVersions: ChannelVersions;
  readonly versionsSeen: Seen;
}

/**
 * The versions objects of headers that `put` returned or a load decoded
 * (channelVersions → versionsSeen). A delta is written only from a parent
 * whose pair is one of these, so a caller's own view of the parent (the
 * runtime renames nodes of a loaded checkpoint in a copy, say) gets a full
 * header rather than a delta from versions that are not the stored ones.
 */
const storedVersions = new WeakMap<object, object>();

export function rememberStored(channelVersions: object, versionsSeen: object): void {
  storedVersions.set(channelVersions, versionsSeen);
}

export function isStored(parent: {
  readonly channelVersions?: unknown;
  readonly versionsSeen?: unknown;
}): parent is HeaderParent {
  const { channelVersions, versionsSeen } = parent;
  return (
    typeof channelVersions === "object" &&
    channelVersions !== null &&
    typeof versionsSeen === "object" &&
    versionsSeen !== null &&
    storedVersions.get(channelVersions) === versionsSeen
  );
}

/**
 * The header as a delta from `parent`'s, or undefined when it cannot be one
 * that decodes to exactly this header (keys in another order): then the
 * caller writes a full header. Checks what it writes as encodeHeader does.
 */
export function encodeHeaderDelta(
  channelVersions: ChannelVersions,
  versionsSeen: Seen,
  next: readonly PlannedTask[],
  parent: HeaderParent,
  serializer: Serializer,
): string | undefined {
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
  if (versionsSeen === null || typeof versionsSeen !== "object") {
    throw new InvalidArgumentError("checkpoint.versionsSeen", "expected an object");
  }
  // Two plain loops rather than one generic walk: this runs on every put.
  let channels = "";
  const position = new Map<string, number>();
  const add = (channel: string, text: string) => {
    channels += `${position.size === 0 ? "" : ","}${text}`;
    position.set(channel, position.size);
  };
  const previousVersions = parent.channelVersions;
  const previousChannels = Object.keys(previousVersions);
  let removedChannels = "";
  let at = 0;
  let added = false;
  for (const channel in channelVersions) {
    const version = channelVersions[channel];
    if (typeof version !== "number" || !Number.isFinite(version)) {
      throw new InvalidArgumentError(
        `checkpoint.channelVersions${formatKey(channel)}`,
        "expected a finite number",
      );
    }
    // Undefined for a new channel (an inherited name such as "toString" fails the order check).
    const old = previousVersions[channel];
    if (old === undefined) {
      added = true;
      add(channel, `${quoteName(channel, "checkpoint.channelVersions")},${version}`);
      continue;
    }
    // Applied to the parent's keys the delta appends new ones: a kept key after a new one, or
    // kept keys in another order, would decode in another order than was put.
    if (added) return undefined;
    while (previousChannels[at] !== channel) {
      const skipped = previousChannels[at++];
      if (skipped === undefined || channelVersions[skipped] !== undefined) return undefined;
      removedChannels += `${removedChannels === "" ? "" : ","}${JSON.stringify(skipped)}`;
    }
    at += 1;
    if (version !== old) {
      add(channel, `${quoteName(channel, "checkpoint.channelVersions")},${version}`);
    }
  }
  for (; at < previousChannels.length; at += 1) {
    removedChannels += `${removedChannels === "" ? "" : ","}${JSON.stringify(previousChannels[at])}`;
  }
  const positionOf = (channel: string, argument: string): number => {
    let found = position.get(channel);
    if (found === undefined) {
      add(channel, `${quoteName(channel, argument)},null`);
      found = position.size - 1;
    }
    return found;
  };

  const previousSeen = parent.versionsSeen;
  const previousNodes = Object.keys(previousSeen);
  let seen = "";
  let removedNodes = "";
  at = 0;
  added = false;
  for (const node in versionsSeen) {
    const versions = versionsSeen[node]!;
    const old = previousSeen[node];
    if (old === undefined) {
      added = true;
    } else {
      if (added) return undefined;
      while (previousNodes[at] !== node) {
        const skipped = previousNodes[at++];
        if (skipped === undefined || versionsSeen[skipped] !== undefined) return undefined;
        removedNodes += `${removedNodes === "" ? "" : ","}${JSON.stringify(skipped)}`;
      }
      at += 1;
      // The runtime keeps a node's map while the node does not run: most are the same object.
      if (versions === old) continue;
      if (typeof versions === "object" && versions !== null && sameVersions(versions, old)) {
        continue;
      }
    }
    seen += `${seen === "" ? "" : ","}${seenEntry(node, versions, positionOf)}`;
  }
  for (; at < previousNodes.length; at += 1) {
    removedNodes += `${removedNodes === "" ? "" : ","}${JSON.stringify(previousNodes[at])}`;
  }

  const tasks = encodeTasks(next, positionOf, serializer);
  return `[[${channels}],[${seen}],[${tasks}],[${removedChannels}],[${removedNodes}]]`;
}

/** The same channels with the same versions, in the same order. */
function sameVersions(a: ChannelVersions, b: ChannelVersions): boolean {
  const bKeys = Object.keys(b);
  let at = 0;
  for (const channel in a) {
    if (bKeys[at] !== channel || a[channel] !== b[channel]) return false;
    at += 1;
  }
  return at === bKeys.length;
}

/** Whether a parsed format-3 header is a delta (five parts) rather than a full one (three). */
export function isHeaderDelta(parsed: unknown): boolean {
  return Array.isArray(parsed) && parsed.length === 5;
}

/** Applies a parsed delta to its parent's decoded header. */
export function applyHeaderDelta(
  parent: DecodedHeader,
  parsed: unknown,
  where: string,
  serializer: Serializer,
): DecodedHeader {
  if (!Array.isArray(parsed) || parsed.length !== 5 || !parsed.every(Array.isArray)) {
    throw new CorruptRecordError(
      where,
      "expected [channels, seen, next, removedChannels, removedNodes]",
    );
  }
  const [channels, seen, tasks, removedChannels, removedNodes] = parsed as unknown[][];
  const table = readChannels(channels!, where);
  const channelVersions: Record<string, number> = { ...parent.channelVersions };
  for (const name of removedChannels!) delete channelVersions[checkedName(name, where)];
  for (const [name, version] of table.entries)
    if (version !== null) channelVersions[name] = version;
  // Each header gets maps of its own, as a full one does: one a caller changes is no other's.
  const versionsSeen: Record<string, ChannelVersions> = {};
  for (const node in parent.versionsSeen) versionsSeen[node] = { ...parent.versionsSeen[node] };
  for (const node of removedNodes!) delete versionsSeen[checkedName(node, where)];
  for (const [node, versions] of readSeen(seen!, table.nameAt, where))
    versionsSeen[node] = versions;
  return {
    channelVersions,
    versionsSeen,
    next: readTasks(tasks!, table.nameAt, where, serializer),
  };
}

function checkedName(name: unknown, where: string): string {
  if (typeof name !== "string" || isForbiddenKey(name)) {
    throw new CorruptRecordError(where, `invalid removed name ${String(name)}`);
  }
  return name;
}
