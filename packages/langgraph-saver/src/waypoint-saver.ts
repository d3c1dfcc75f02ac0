import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  TASKS,
  getCheckpointId,
  maxChannelVersion,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite as LangGraphWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import {
  CheckpointConflictError,
  CheckpointNotFoundError,
  type ChannelWrite,
  type CheckpointAddress,
  type CheckpointHeader,
  type Checkpointer,
  type JsonValue,
  type LoadedCheckpoint,
  type PendingWrite,
  type PruneOptions,
  type PruneResult,
} from "@waypoint/checkpoint";
import {
  applyChange,
  asChannelChange,
  asStoredChannel,
  decodeChannel,
  encodeChannel,
  holdChannel,
  storedOf,
  type ChannelChange,
  type HeldChannel,
} from "./internal/channel-codec.js";
import { frameFields, readFrame, stepOf } from "./internal/checkpoint-frame.js";
import { HeadCache, type HeldCheckpoint } from "./internal/head-cache.js";
import { listSources } from "./internal/list-sources.js";
import { decodeWrites, encodeWrites } from "./internal/writes-codec.js";

/**
 * Settings of a WaypointSaver: whether a put from a checkpoint that is not
 * the head forks or fails, LangGraph's serializer, and the size of the cache of heads.
 *
 * @experimental
 */
export interface WaypointSaverOptions {
  /**
   * Off (the default), a put from a checkpoint that is no longer the head
   * forks the thread, as LangGraph's savers do. On, it fails with Waypoint's
   * CheckpointConflictError: two writers cannot both extend one head.
   */
  readonly strict?: boolean;
  /** LangGraph's serializer; its JsonPlusSerializer when omitted. */
  readonly serde?: SerializerProtocol;
  /** Threads and namespaces whose last checkpoint is kept in memory (default 1000). */
  readonly cacheSize?: number;
}

/** A loaded checkpoint with its channels in stored form. */
interface LoadedState {
  readonly checkpoint: CheckpointHeader;
  readonly state: ReadonlyMap<string, HeldChannel>;
  readonly pendingWrites: readonly PendingWrite[];
}

/** The task id the saver's channel writes carry in Waypoint's records. */
const PUT_TASK = "langgraph";
/** Checkpoints whose writes may wait for their put at once (one per graph and namespace running). */
const MAX_EARLY_CHECKPOINTS = 10_000;
/** A fork retries once per writer that moved the head meanwhile; this many at most. */
const MAX_FORK_ATTEMPTS = 8;

/**
 * A LangGraph.js checkpoint saver on any Waypoint checkpointer. Each put
 * stores the channels LangGraph says changed (`newVersions`), a list that
 * only grew as an append, in Waypoint's snapshots-and-deltas format.
 *
 * @experimental
 */
export class WaypointSaver extends BaseCheckpointSaver {
  private readonly strict: boolean;
  private readonly heads: HeadCache;
  /**
   * Puts under way, by thread, namespace and checkpoint id. LangGraph saves a
   * checkpoint in the background and may save writes against it before the
   * put returns; Waypoint takes writes only for a stored checkpoint, so they wait.
   */
  private readonly puts = new Map<string, Promise<unknown>>();
  /**
   * Writes that arrived before their checkpoint's put was even called
   * (LangGraph chains its puts, not its writes): the put stores them with
   * the checkpoint, in the same atomic write.
   */
  private readonly early = new Map<string, PendingWrite[]>();

  constructor(
    readonly checkpointer: Checkpointer,
    options: WaypointSaverOptions = {},
  ) {
    super(options.serde);
    this.strict = options.strict ?? false;
    this.heads = new HeadCache(options.cacheSize ?? 1000);
  }

  /**
   * The checkpoint `config` names (its `checkpoint_id`, or the head of its
   * `thread_id` and `checkpoint_ns`) as a LangGraph tuple with its pending
   * writes; undefined without a `thread_id`, or when no such checkpoint is stored.
   */
  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) return undefined;
    const namespace = namespaceOf(config);
    const checkpointId = getCheckpointId(config) || undefined;
    const held = await this.load(threadId, namespace, checkpointId);
    return held === undefined ? undefined : this.toTuple(held);
  }

  /**
   * LangGraph tuples, newest first, each a load of its checkpoint. Without a
   * `thread_id` it lists every thread with a root checkpoint; without a
   * `checkpoint_ns`, every namespace of the thread. A filter's `undefined`
   * values are ignored.
   */
  async *list(
    config: RunnableConfig,
    options: CheckpointListOptions = {},
  ): AsyncGenerator<CheckpointTuple> {
    const only = getCheckpointId(config) || undefined;
    let remaining = options.limit ?? Infinity;
    if (remaining <= 0) return;
    const headers = listSources(this.checkpointer, {
      threadId: config.configurable?.thread_id as string | undefined,
      namespace: config.configurable?.checkpoint_ns as string | undefined,
      before: getCheckpointId(options.before ?? {}) || undefined,
      filter: jsonFilter(options.filter),
      limit: only === undefined ? options.limit : undefined,
    });
    // One load gives the state of every checkpoint from its base snapshot
    // down to it: a listing of a chain, newest first, loads once per base.
    let chain = new Map<string, ReadonlyMap<string, HeldChannel>>();
    for await (const header of headers) {
      if (only !== undefined && header.id !== only) continue;
      const address = { threadId: header.threadId, namespace: header.namespace };
      let state = chain.get(header.id);
      let pendingWrites: readonly PendingWrite[];
      if (state === undefined) {
        const loaded = await this.load(address.threadId, address.namespace, header.id, false);
        if (loaded === undefined) continue;
        chain = loaded.chain;
        state = loaded.state;
        pendingWrites = loaded.pendingWrites;
      } else {
        pendingWrites = await this.pendingWritesOf({ ...address, checkpointId: header.id });
      }
      yield await this.toTuple({ checkpoint: header, state, pendingWrites });
      remaining -= 1;
      if (remaining <= 0) return;
    }
  }

  /**
   * Stores a LangGraph checkpoint as a Waypoint checkpoint whose delta holds
   * only the channels in `newVersions` (a list that only grew, as an append),
   * with any writes LangGraph saved for it before this put, in one atomic
   * write. From a parent that is no longer the head it forks, or in strict
   * mode fails with CheckpointConflictError.
   */
  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const key = putKey(
      config.configurable?.thread_id as string | undefined,
      namespaceOf(config),
      checkpoint.id,
    );
    const early = this.early.get(key);
    this.early.delete(key);
    const put = this.putNow(config, checkpoint, metadata, newVersions, early);
    this.puts.set(key, put);
    try {
      return await put;
    } finally {
      if (this.puts.get(key) === put) this.puts.delete(key);
    }
  }

  private async putNow(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
    pendingWrites: readonly PendingWrite[] | undefined,
  ): Promise<RunnableConfig> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (threadId === undefined) {
      throw new Error('WaypointSaver.put needs config.configurable.thread_id ("thread_id")');
    }
    const namespace = namespaceOf(config);
    const parentId = getCheckpointId(config) || undefined;
    const parent =
      parentId === undefined ? undefined : await this.parentOf(threadId, namespace, parentId);

    const before = parent?.state ?? new Map<string, HeldChannel>();
    const state = new Map<string, HeldChannel>();
    for (const channel of Object.keys(checkpoint.channel_versions ?? {})) {
      const held = before.get(channel);
      if (held !== undefined) state.set(channel, held);
    }
    const writes: ChannelWrite[] = [];
    const appending = new Set<string>();
    const change = (channel: string, value: ChannelChange): void => {
      writes.push({ taskId: PUT_TASK, channel, value });
      applyChange(state, channel, value);
    };
    for (const channel of before.keys()) {
      if (!state.has(channel) && !(channel in newVersions)) change(channel, { d: 1 });
    }
    for (const channel of Object.keys(newVersions)) {
      const values = checkpoint.channel_values;
      if (!Object.hasOwn(values, channel) || values[channel] === undefined) {
        if (before.has(channel) || state.has(channel)) change(channel, { d: 1 });
        continue;
      }
      const encoded = await encodeChannel(this.serde, values[channel], before.get(channel));
      if ("a" in encoded.change) appending.add(channel);
      if ("a" in encoded.change && encoded.change.a.length === 0) {
        state.set(channel, encoded.held);
        continue;
      }
      writes.push({ taskId: PUT_TASK, channel, value: encoded.change });
      state.set(channel, encoded.held);
    }

    const request = {
      checkpoint: {
        threadId,
        namespace,
        id: checkpoint.id,
        step: stepOf(metadata),
        next: [],
        writes,
        ...frameFields(checkpoint, metadata),
      },
      parent: parent?.header ?? null,
      snapshot: () =>
        Object.fromEntries([...state].map(([channel, held]) => [channel, storedOf(held)])),
      accumulating: appending,
      pendingWrites,
    };
    let expectedHeadId: string | null | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const header = await this.checkpointer.put({ ...request, expectedHeadId });
        this.heads.set({ header, state });
        break;
      } catch (error) {
        // LangGraph's rule: a put from an older checkpoint is a fork.
        if (!(error instanceof CheckpointConflictError) || this.strict) throw error;
        if (attempt >= MAX_FORK_ATTEMPTS) throw error;
        expectedHeadId = error.data.actualHeadId;
      }
    }
    return {
      configurable: { thread_id: threadId, checkpoint_ns: namespace, checkpoint_id: checkpoint.id },
    };
  }

  async putWrites(
    config: RunnableConfig,
    writes: LangGraphWrite[],
    taskId: string,
    taskPath = "",
  ): Promise<void> {
    const threadId = config.configurable?.thread_id as string | undefined;
    const checkpointId = getCheckpointId(config) || undefined;
    if (threadId === undefined || checkpointId === undefined) {
      throw new Error(
        "WaypointSaver.putWrites needs config.configurable.thread_id and checkpoint_id",
      );
    }
    const address = { threadId, namespace: namespaceOf(config), checkpointId };
    const key = putKey(threadId, address.namespace, checkpointId);
    const encoded = await encodeWrites(this.serde, writes, taskId, taskPath);
    for (let attempt = 1; ; attempt += 1) {
      // A put's failure is its caller's to see; these writes then fail on their own.
      await this.puts.get(key)?.catch(() => undefined);
      const early = this.early.get(key);
      if (early !== undefined) {
        this.early.set(key, mergeEarly(early, encoded));
        return;
      }
      const pending = freshWrites(await this.savedRegularWrites(address, encoded), encoded);
      if (pending.length === 0) return;
      try {
        await this.checkpointer.putPendingWrites(address, pending);
        return;
      } catch (error) {
        if (!(error instanceof CheckpointNotFoundError) || attempt > 1) throw error;
        if (this.puts.has(key) || this.heads.get(threadId, address.namespace, checkpointId)) {
          continue;
        }
        this.holdEarly(key, pending);
        return;
      }
    }
  }

  /** The task's saved writes at the indexes `writes` use, when a regular one is among them. */
  private async savedRegularWrites(
    address: Required<CheckpointAddress>,
    writes: readonly PendingWrite[],
  ): Promise<PendingWrite[]> {
    if (!writes.some((write) => write.idx >= 0)) return [];
    const taskId = writes[0]!.taskId;
    return (await this.pendingWritesOf(address)).filter((write) => write.taskId === taskId);
  }

  private async pendingWritesOf(address: Required<CheckpointAddress>): Promise<PendingWrite[]> {
    if (this.checkpointer.getPendingWrites !== undefined) {
      return this.checkpointer.getPendingWrites(address);
    }
    try {
      return [...((await this.checkpointer.get(address.threadId, address))?.pendingWrites ?? [])];
    } catch (error) {
      if (error instanceof CheckpointNotFoundError) return [];
      throw error;
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    this.heads.forgetThread(threadId);
    const prefix = `${threadId}\u0000`;
    for (const key of this.early.keys()) if (key.startsWith(prefix)) this.early.delete(key);
    await this.checkpointer.deleteThread(threadId);
  }

  /** Bounded: writes for a checkpoint that is never put must not pile up. */
  private holdEarly(key: string, writes: PendingWrite[]): void {
    this.early.set(key, writes);
    if (this.early.size > MAX_EARLY_CHECKPOINTS) {
      const oldest = this.early.keys().next();
      if (oldest.done !== true) this.early.delete(oldest.value);
    }
  }

  /** Deletes old checkpoints (never a head): Waypoint's retention, for LangGraph threads. */
  prune(options: PruneOptions): Promise<PruneResult> {
    return this.checkpointer.prune(options);
  }

  /** Copies a thread with its history and pending writes to a new thread id. */
  copyThread(fromThreadId: string, toThreadId: string): Promise<void> {
    return this.checkpointer.copyThread(fromThreadId, toThreadId);
  }

  /** The parent of a put, from the cache or the store; undefined if the store has no such checkpoint. */
  private async parentOf(
    threadId: string,
    namespace: string,
    checkpointId: string,
  ): Promise<HeldCheckpoint | undefined> {
    const cached = this.heads.get(threadId, namespace, checkpointId);
    if (cached !== undefined) return cached;
    const loaded = await this.load(threadId, namespace, checkpointId);
    return loaded === undefined ? undefined : { header: loaded.checkpoint, state: loaded.state };
  }

  /** A checkpoint's state, and that of each one from its base snapshot down to it. */
  private async load(
    threadId: string,
    namespace: string,
    checkpointId: string | undefined,
    remember = true,
  ): Promise<
    (LoadedState & { readonly chain: Map<string, ReadonlyMap<string, HeldChannel>> }) | undefined
  > {
    let loaded: LoadedCheckpoint | undefined;
    try {
      loaded = await this.checkpointer.get(threadId, { namespace, checkpointId });
    } catch (error) {
      if (error instanceof CheckpointNotFoundError) return undefined;
      throw error;
    }
    if (loaded === undefined) return undefined;
    const state = new Map<string, HeldChannel>();
    for (const [channel, stored] of Object.entries(loaded.base.values)) {
      state.set(channel, holdChannel(asStoredChannel(stored)));
    }
    const chain = new Map<string, ReadonlyMap<string, HeldChannel>>();
    chain.set(loaded.base.checkpointId, new Map(state));
    for (const delta of loaded.deltas) {
      if (delta.checkpointId === loaded.base.checkpointId) continue;
      for (const write of delta.writes) {
        applyChange(state, write.channel, asChannelChange(write.value));
      }
      chain.set(delta.checkpointId, new Map(state));
    }
    if (remember) this.heads.set({ header: loaded.checkpoint, state });
    return { ...loaded, state, chain };
  }

  private async toTuple(loaded: LoadedState): Promise<CheckpointTuple> {
    const { checkpoint: header, state, pendingWrites } = loaded;
    const { metadata, frame } = readFrame(header);
    const channelValues: Record<string, unknown> = {};
    for (const [channel, held] of state) {
      channelValues[channel] = await decodeChannel(this.serde, held);
    }
    const checkpoint: Checkpoint = {
      v: frame.v,
      id: header.id,
      ts: frame.ts,
      channel_values: channelValues,
      channel_versions: frame.channel_versions,
      versions_seen: frame.versions_seen,
    };
    const address = { thread_id: header.threadId, checkpoint_ns: header.namespace };
    if (checkpoint.v < 4 && header.parentId !== null) {
      await this.migratePendingSends(checkpoint, header);
    }
    const tuple: CheckpointTuple = {
      config: { configurable: { ...address, checkpoint_id: header.id } },
      checkpoint,
      metadata,
      pendingWrites: await decodeWrites(this.serde, pendingWrites),
    };
    if (header.parentId !== null) {
      tuple.parentConfig = { configurable: { ...address, checkpoint_id: header.parentId } };
    }
    return tuple;
  }

  /**
   * Before format 4, LangGraph kept the sends of a superstep as pending
   * writes of the checkpoint before; they become the TASKS channel's value.
   */
  private async migratePendingSends(
    checkpoint: Checkpoint,
    header: CheckpointHeader,
  ): Promise<void> {
    const address = {
      threadId: header.threadId,
      namespace: header.namespace,
      checkpointId: header.parentId!,
    };
    const parentWrites = await this.pendingWritesOf(address);
    const sends = (await decodeWrites(this.serde, parentWrites)).filter(
      ([, channel]) => channel === TASKS,
    );
    checkpoint.channel_values[TASKS] = sends.map(([, , value]) => value);
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] =
      versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }
}

/**
 * LangGraph keeps the first of a task's writes at an index, and the last at
 * its special channels' negative ones; Waypoint replaces. These are the
 * writes of `writes` that `saved` does not already hold.
 */
function freshWrites(
  saved: readonly PendingWrite[],
  writes: readonly PendingWrite[],
): PendingWrite[] {
  const taken = new Set(saved.filter((write) => write.idx >= 0).map(writeKey));
  return writes.filter((write) => write.idx < 0 || !taken.has(writeKey(write)));
}

/** Writes waiting for their checkpoint, with more added by the same rule. */
function mergeEarly(
  early: readonly PendingWrite[],
  writes: readonly PendingWrite[],
): PendingWrite[] {
  const fresh = freshWrites(early, writes);
  const replaced = new Set(fresh.map(writeKey));
  return [...early.filter((write) => !replaced.has(writeKey(write))), ...fresh];
}

function writeKey(write: PendingWrite): string {
  return `${write.taskId}\u0000${write.idx}`;
}

function putKey(threadId: string | undefined, namespace: string, checkpointId: string): string {
  return `${threadId}\u0000${namespace}\u0000${checkpointId}`;
}

function namespaceOf(config: RunnableConfig): string {
  return (config.configurable?.checkpoint_ns as string | undefined) ?? "";
}

/** LangGraph's filter, less the keys it leaves undefined (which Waypoint's JSON filter refuses). */
function jsonFilter(
  filter: Record<string, unknown> | undefined,
): Readonly<Record<string, JsonValue>> | undefined {
  if (filter === undefined) return undefined;
  const entries = Object.entries(filter).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries) as Record<string, JsonValue>;
}
