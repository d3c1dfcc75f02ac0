import { isDeepStrictEqual } from "node:util";
import {
  CorruptRecordError,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
  type ChannelWrite,
  type Checkpointer,
  type LoadedCheckpoint,
  type PendingWrite,
  type PlannedTask,
} from "@waypoint/checkpoint";
import type { ChannelSpec } from "../channels/channel.js";
import { branchChannel } from "../constants.js";
import { GraphChangedError, MigrationFailedError } from "../errors.js";
import {
  isNewerVersion,
  storedIdentity,
  type GraphIdentity,
  type GraphVersion,
  type MigrationInfo,
  type StoredShape,
} from "../graph/graph-identity.js";
import type { GraphSpec } from "../graph/graph-spec.js";
import { APPEND_MARKS } from "./append-marks.js";
import { ChannelSet } from "./channel-set.js";

/**
 * What a run does with a thread written by another version or shape of its
 * graph, before anything is written: it renames what `renamedNodes`
 * declares, runs the migration steps from the thread's version to the
 * graph's, and checks that what the thread holds fits the graph (its
 * planned nodes exist, its channels that hold a value exist with the same
 * kind). A misfit is GRAPH_CHANGED, listing each problem in the graph's own
 * names; on a thread written by this very graph it is damage (CORRUPT_RECORD).
 */
export interface PreparedThread {
  readonly loaded: LoadedCheckpoint | undefined;
  /** Renamed or migrated: the run writes a "migration" checkpoint before anything else. */
  readonly migrated: boolean;
  /** The version the thread was written by (before migration), if it records one. */
  readonly from?: GraphVersion;
}

export async function prepareThread(
  spec: GraphSpec,
  checkpointer: Checkpointer,
  loaded: LoadedCheckpoint | undefined,
): Promise<PreparedThread> {
  if (loaded === undefined) return { loaded, migrated: false };
  const { identity } = spec.deploy;
  const stored = storedIdentity(loaded.checkpoint.metadata);
  const same =
    stored !== undefined &&
    stored.fingerprint === identity.fingerprint &&
    stored.version === identity.version;
  if (same) {
    // The common case: written by this graph. Only damage can make it misfit.
    const unknown = loaded.checkpoint.next.find((task) => !spec.nodes.has(task.node));
    if (unknown !== undefined)
      throw damaged(
        loaded,
        `planned task ${unknown.id}`,
        `names node "${unknown.node}", which this graph (that wrote it) does not have`,
      );
    return { loaded, migrated: false };
  }
  if (
    stored !== undefined &&
    stored.name === identity.name &&
    isNewerVersion(stored.version, spec.deploy)
  ) {
    // An older deploy must not write over a newer one's thread (a rollback, a stale process):
    // the newer version would then find its own migration undone and run it again.
    throw new GraphChangedError(
      loaded.checkpoint.threadId,
      [
        `the thread was written by version ${JSON.stringify(stored.version)} of "${stored.name}", newer than this graph's version ${JSON.stringify(identity.version)}`,
      ],
      { writtenBy: { ...stored }, graph: { ...identity }, newerVersion: true },
    );
  }
  const shape = stored ? await findShape(checkpointer, loaded, stored) : undefined;
  let current = rename(loaded, spec);
  let migrated = current !== loaded;
  const from = stored?.version ?? 1;
  const path = migrationPath(spec, from);
  if (path.length > 0) {
    current = await migrate(spec, current, shape, from, path);
    migrated = true;
  }
  const problems = misfits(spec, current, migrated ? undefined : shape);
  if (problems.length > 0) {
    if (stored?.fingerprint === identity.fingerprint && !migrated) {
      throw damaged(loaded, "the stored thread", problems.join("; "));
    }
    throw new GraphChangedError(loaded.checkpoint.threadId, problems, {
      ...(stored ? { writtenBy: { ...stored } } : {}),
      graph: { ...identity },
    });
  }
  return { loaded: migrated ? current : dropGone(spec, current), migrated, from };
}

function damaged(loaded: LoadedCheckpoint, where: string, problem: string): CorruptRecordError {
  const { threadId, namespace, id } = loaded.checkpoint;
  return new CorruptRecordError(
    `thread "${threadId}"${namespace === "" ? "" : ` namespace "${namespace}"`}, checkpoint ${id}, ${where}`,
    problem,
  );
}

/** The steps from `from` to the graph's version; none when it is not in the chain (or is the graph's). */
function migrationPath(spec: GraphSpec, from: GraphVersion) {
  const { versions, steps, identity } = spec.deploy;
  if (from === identity.version) return [];
  const start = versions.indexOf(from);
  return start < 0 ? [] : steps.slice(start);
}

/**
 * The shape the thread's graph recorded with its first checkpoint under
 * that fingerprint (walking back from the head through that stretch).
 */
async function findShape(
  checkpointer: Checkpointer,
  loaded: LoadedCheckpoint,
  stored: GraphIdentity,
): Promise<StoredShape | undefined> {
  const own = shapeOf(loaded.checkpoint.metadata);
  if (own !== undefined) return own;
  const { threadId, namespace, id } = loaded.checkpoint;
  for await (const header of checkpointer.list(threadId, { namespace, before: id })) {
    const identity = storedIdentity(header.metadata);
    if (identity?.fingerprint !== stored.fingerprint) return undefined;
    const shape = shapeOf(header.metadata);
    if (shape !== undefined) return shape;
  }
  return undefined;
}

function shapeOf(metadata: Readonly<Record<string, unknown>>): StoredShape | undefined {
  const shape = metadata.graphShape as StoredShape | undefined;
  if (shape === null || typeof shape !== "object") return undefined;
  if (shape.channels === null || typeof shape.channels !== "object") return undefined;
  return shape;
}

/** Channel names the runtime makes (edges, joins, sends), as against state keys. */
function isInternal(name: string, shape: StoredShape | undefined): boolean {
  if (shape !== undefined && Object.hasOwn(shape.channels, name)) return false;
  return name.startsWith("__") || name.startsWith("branch:to:") || name.startsWith("join:");
}

/** The channels a stored thread holds a value in: its snapshot's, and those its deltas wrote. */
function channelsWithValues(loaded: LoadedCheckpoint): Set<string> {
  const names = new Set<string>();
  for (const [name, data] of Object.entries(loaded.base.values))
    if (data !== undefined) names.add(name);
  for (const delta of loaded.deltas) for (const write of delta.writes) names.add(write.channel);
  return names;
}

/** What keeps the thread from running on this graph, in the graph's own names. */
function misfits(
  spec: GraphSpec,
  loaded: LoadedCheckpoint,
  shape: StoredShape | undefined,
): string[] {
  const problems: string[] = [];
  for (const node of new Set(loaded.checkpoint.next.map((task) => task.node))) {
    if (!spec.nodes.has(node)) problems.push(`node "${node}" is planned but no longer exists`);
  }
  const stateKeys = new Set(spec.stateKeys);
  for (const name of channelsWithValues(loaded)) {
    if (isInternal(name, shape)) continue;
    // Never written: it holds only its old default, which the graph may drop or replace.
    if (!Object.hasOwn(loaded.checkpoint.channelVersions, name)) continue;
    const now = stateKeys.has(name) ? spec.channels.get(name) : undefined;
    if (now === undefined) {
      problems.push(`channel "${name}" holds a value but is gone`);
      continue;
    }
    const before = shape?.channels[name];
    if (before !== undefined && before !== now.kind) {
      problems.push(`channel "${name}" changed from ${before} to ${now.kind}`);
    }
  }
  // Finished tasks' writes wait to be applied when the superstep commits.
  const planned = new Set(loaded.checkpoint.next.map((task) => task.id));
  for (const write of loaded.pendingWrites) {
    if (write.idx < 0 || !planned.has(write.taskId) || isInternal(write.channel, shape)) continue;
    if (!stateKeys.has(write.channel)) {
      const problem = `channel "${write.channel}" has a pending write but is gone`;
      if (!problems.includes(problem)) problems.push(problem);
    }
  }
  return problems;
}

/**
 * Leaves out what the graph no longer has and that holds nothing it needs:
 * the runtime's channels of removed nodes and edges (their triggers and
 * joins), so that rebuilding the state does not stumble on them.
 */
function dropGone(spec: GraphSpec, loaded: LoadedCheckpoint): LoadedCheckpoint {
  const known = (name: string) => spec.channels.has(name) || name === APPEND_MARKS;
  const gone = [...channelsWithValues(loaded)].some((name) => !known(name));
  const pendingGone = loaded.pendingWrites.some(
    (w) => w.idx >= 0 && w.channel.startsWith("branch:to:") && !known(w.channel),
  );
  if (!gone && !pendingGone) return loaded;
  return {
    ...loaded,
    base: {
      checkpointId: loaded.base.checkpointId,
      values: Object.fromEntries(
        Object.entries(loaded.base.values).filter(([name]) => known(name)),
      ),
    },
    deltas: loaded.deltas.map((delta) => ({
      ...delta,
      writes: delta.writes.filter((write) => known(write.channel)),
    })),
    pendingWrites: loaded.pendingWrites.filter(
      (w) => w.idx < 0 || !w.channel.startsWith("branch:to:") || known(w.channel),
    ),
  };
}

/** Applies `renamedNodes` to a stored thread: its plan, its triggers and versions, its interrupts. */
function rename(loaded: LoadedCheckpoint, spec: GraphSpec): LoadedCheckpoint {
  const renames = spec.deploy.renamedNodes;
  if (renames.size === 0) return loaded;
  const node = (name: string) => renames.get(name) ?? name;
  const channelRenames = new Map(
    [...renames].map(([from, to]) => [branchChannel(from), branchChannel(to)]),
  );
  const channel = (name: string) => channelRenames.get(name) ?? name;
  const checkpoint = loaded.checkpoint;
  const touched =
    checkpoint.next.some((task) => renames.has(task.node)) ||
    Object.keys(checkpoint.versionsSeen).some((name) => renames.has(name)) ||
    [...channelsWithValues(loaded)].some((name) => channelRenames.has(name));
  if (!touched) return loaded;
  const renameKeys = <T>(record: Readonly<Record<string, T>>, key: (name: string) => string) =>
    Object.fromEntries(Object.entries(record).map(([name, value]) => [key(name), value]));
  const renamedTasks = new Set(
    checkpoint.next.filter((task) => renames.has(task.node)).map((task) => task.id),
  );
  const next: PlannedTask[] = checkpoint.next.map((task) =>
    renames.has(task.node) || task.triggers.some((t) => channelRenames.has(t))
      ? { ...task, node: node(task.node), triggers: task.triggers.map(channel) }
      : task,
  );
  const writes = (list: readonly ChannelWrite[]) =>
    list.map((write) =>
      channelRenames.has(write.channel) ? { ...write, channel: channel(write.channel) } : write,
    );
  const pendingWrites: PendingWrite[] = loaded.pendingWrites.map((write) => {
    if (!renamedTasks.has(write.taskId)) return write;
    if (write.channel === INTERRUPT_CHANNEL || write.channel === RESUME_CHANNEL) {
      const interrupts = write.value as { node?: string; value?: unknown }[];
      return {
        ...write,
        value: interrupts.map((i) => ({
          ...i,
          ...(i.node !== undefined ? { node: node(i.node) } : {}),
          ...(isNodeValue(i.value) ? { value: { ...i.value, node: node(i.value.node) } } : {}),
        })),
      };
    }
    return channelRenames.has(write.channel)
      ? { ...write, channel: channel(write.channel) }
      : write;
  });
  return {
    checkpoint: {
      ...checkpoint,
      next,
      channelVersions: renameKeys(checkpoint.channelVersions, channel),
      versionsSeen: Object.fromEntries(
        Object.entries(checkpoint.versionsSeen).map(([name, seen]) => [
          node(name),
          renameKeys(seen, channel),
        ]),
      ),
      writes: writes(checkpoint.writes),
    },
    base: {
      checkpointId: loaded.base.checkpointId,
      values: renameKeys(loaded.base.values, channel),
    },
    deltas: loaded.deltas.map((delta) => ({ ...delta, writes: writes(delta.writes) })),
    pendingWrites,
  };
}

function isNodeValue(value: unknown): value is { node: string } {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { node?: unknown }).node === "string"
  );
}

/**
 * Runs the migration steps on the thread's state and plan. The old state is
 * rebuilt with this graph's channels where a key kept its kind; a key that
 * was a last value (or whose kind is not recorded) reads its last write; any
 * other reads its snapshot, if nothing wrote to it since. Returns the thread
 * as one snapshot of the migrated state, at the same checkpoint.
 */
async function migrate(
  spec: GraphSpec,
  loaded: LoadedCheckpoint,
  shape: StoredShape | undefined,
  from: GraphVersion,
  path: GraphSpec["deploy"]["steps"],
): Promise<LoadedCheckpoint> {
  const threadId = loaded.checkpoint.threadId;
  const to = spec.deploy.identity.version;
  const fail = (problem: string, cause?: unknown): never => {
    throw new MigrationFailedError(threadId, from, to, problem, cause);
  };
  const kept = (name: string) => {
    const now = spec.channels.get(name);
    const before = shape?.channels[name];
    return now !== undefined && (before === undefined || before === now.kind);
  };
  const specs = new Map<string, ChannelSpec>([...spec.channels].filter(([name]) => kept(name)));
  const channels = ChannelSet.fromLoaded(specs, [], loaded, { skipUnknown: true });
  let values: Record<string, unknown> = {};
  for (const name of channelsWithValues(loaded)) {
    if (isInternal(name, shape)) continue;
    // A gone key never written holds only its old default: no state to migrate.
    if (!Object.hasOwn(loaded.checkpoint.channelVersions, name) && !spec.channels.has(name))
      continue;
    const channel = channels.channels.get(name);
    if (channel !== undefined) {
      values[name] = channel.isAvailable() ? channel.get() : undefined;
      continue;
    }
    const written = loaded.deltas.flatMap((delta) =>
      delta.writes.filter((w) => w.channel === name),
    );
    const kind = shape?.channels[name];
    if (written.length === 0) values[name] = loaded.base.values[name];
    else if (kind === undefined || kind === "lastValue")
      values[name] = written[written.length - 1]!.value;
    else
      fail(
        `channel "${name}" was a ${kind} and changed since its last snapshot, so its value cannot be rebuilt without its old code; keep its kind for one more version and migrate it in the next`,
      );
  }
  let next = loaded.checkpoint.next;
  let version = from;
  for (const step of path) {
    const info: MigrationInfo = {
      threadId,
      from: step.from,
      to: step.to,
      next: next.map((task) => task.node),
    };
    if (step.state !== undefined) {
      let result: unknown;
      try {
        result = await step.state({ ...values }, info);
      } catch (error) {
        fail(
          `the step from ${JSON.stringify(step.from)} threw ${error instanceof Error ? error.message : String(error)}`,
          error,
        );
      }
      if (result === null || typeof result !== "object" || Array.isArray(result)) {
        fail(
          `the step from ${JSON.stringify(step.from)} returned ${result === null ? "null" : typeof result}, not a state object`,
        );
      }
      values = result as Record<string, unknown>;
    }
    if (step.plan !== undefined) {
      let mapped: readonly (string | null)[];
      try {
        mapped = step.plan(info.next, info);
      } catch (error) {
        return fail(
          `the plan step from ${JSON.stringify(step.from)} threw ${error instanceof Error ? error.message : String(error)}`,
          error,
        );
      }
      if (!Array.isArray(mapped) || mapped.length !== next.length) {
        fail(
          `the plan step from ${JSON.stringify(step.from)} must return one entry (a node name or null) per planned task (${next.length})`,
        );
      }
      next = next.flatMap((task, i) => {
        const target = mapped[i];
        if (target === null) return [];
        if (typeof target !== "string")
          return fail(`the plan step returned ${typeof target} for task ${task.node}`);
        return target === task.node ? [task] : [{ ...task, node: target, triggers: [] }];
      });
    }
    version = step.to;
  }
  void version;
  // The migrated state, as a snapshot of this graph's channels (runtime channels as they were).
  const stateKeys = new Set(spec.stateKeys);
  for (const key of Object.keys(values)) {
    if (!stateKeys.has(key) && values[key] !== undefined) {
      fail(
        `it returned "${key}", which is not a state key of this graph (keys: ${spec.stateKeys.join(", ")})`,
      );
    }
  }
  const snapshot: Record<string, unknown> = { ...channels.snapshot() };
  for (const key of spec.stateKeys) {
    delete snapshot[key];
    const value = values[key];
    if (value === undefined) continue;
    const channel = spec.channels.get(key)!.create();
    try {
      channel.restore(value);
    } catch (error) {
      fail(
        `channel "${key}" cannot hold what it returned: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
    const data = channel.checkpoint();
    if (data !== undefined) snapshot[key] = data;
  }
  // A key the migration set counts as written, so that a later version that drops it is refused
  // (misfits); one that kept its default, unwritten, does not.
  const channelVersions = { ...loaded.checkpoint.channelVersions };
  for (const key of spec.stateKeys) {
    if (snapshot[key] === undefined || Object.hasOwn(channelVersions, key)) continue;
    if (!isDeepStrictEqual(snapshot[key], loaded.base.values[key])) channelVersions[key] = 1;
  }
  const planned = new Set(next.map((task) => task.id));
  return {
    checkpoint: { ...loaded.checkpoint, channelVersions, next, writes: [] },
    base: { checkpointId: loaded.checkpoint.id, values: snapshot },
    deltas: [],
    pendingWrites: loaded.pendingWrites.filter(
      (write) =>
        planned.has(write.taskId) &&
        (write.idx < 0 || stateKeys.has(write.channel) || spec.channels.has(write.channel)),
    ),
  };
}
