import {
  CheckpointNotFoundError,
  type CheckpointHeader,
  type Checkpointer,
  type JsonValue,
  type LoadedCheckpoint,
} from "@waypoint/checkpoint";
import type { GraphSpec } from "../graph/graph-spec.js";
import { snapshotOf, type StateSnapshot } from "../state-snapshot.js";
import type { StateDefinition } from "../state.js";
import { ChannelSet } from "./channel-set.js";

/** Headers gathered per load: a page of history shares one load per chain. */
const BATCH = 64;

export interface HistoryOptions {
  readonly namespace: string;
  readonly limit?: number;
  readonly before?: string;
  readonly filter?: Readonly<Record<string, JsonValue>>;
}

/** getState: a thread's state at its head, or at `checkpointId` (with the child its tasks ran in). */
export async function snapshotAt<D extends StateDefinition>(
  checkpointer: Checkpointer,
  spec: GraphSpec,
  threadId: string,
  namespace: string,
  checkpointId: string | undefined,
): Promise<StateSnapshot<D> | undefined> {
  const loaded = await checkpointer.get(threadId, {
    namespace,
    ...(checkpointId ? { checkpointId } : {}),
  });
  if (loaded === undefined) return undefined;
  if (checkpointId === undefined) return snapshotOf<D>(spec, loaded, { head: true });
  // An older checkpoint's tasks ran in the superstep its child committed.
  let child: LoadedCheckpoint | undefined;
  let head = true;
  for await (const header of checkpointer.list(threadId, { namespace })) {
    if (header.id === loaded.checkpoint.id) break;
    head = false;
    if (header.parentId === loaded.checkpoint.id)
      child = await checkpointer.get(threadId, { namespace, checkpointId: header.id });
  }
  return snapshotOf<D>(spec, loaded, { head, ...(child ? { child } : {}) });
}

/** getStateHistory: every checkpoint of a thread (or of one namespace), newest first, with its state. */
export async function* stateHistory<D extends StateDefinition>(
  checkpointer: Checkpointer,
  spec: GraphSpec,
  threadId: string,
  options: HistoryOptions,
): AsyncGenerator<StateSnapshot<D>> {
  const { namespace } = options;
  // Newer checkpoints read so far, by their parent's id: a task's result is
  // in its child's writes. Each is dropped once its parent is shown.
  const children = new Map<string, LoadedCheckpoint>();
  let first = options.before === undefined;
  if (options.before !== undefined) {
    // A page after `before`: its first checkpoint's tasks ran in the superstep `before` committed.
    const newer = await checkpointer
      .get(threadId, { namespace, checkpointId: options.before })
      .catch((error: unknown) => {
        if (error instanceof CheckpointNotFoundError) return undefined;
        throw error;
      });
    if (newer?.checkpoint.parentId) children.set(newer.checkpoint.parentId, newer);
  }
  for await (const loaded of historyLoads(checkpointer, spec, threadId, options)) {
    const child = children.get(loaded.checkpoint.id);
    children.delete(loaded.checkpoint.id);
    yield snapshotOf<D>(spec, loaded, { head: first, ...(child ? { child } : {}) });
    first = false;
    if (loaded.checkpoint.parentId !== null) children.set(loaded.checkpoint.parentId, loaded);
  }
}

/**
 * A thread's checkpoints, newest first, each as `get` would load it, but
 * with one load per run of checkpoints that share a chain: the newest of
 * them is loaded (its base and deltas), and the state of each older one is
 * taken on the way as its deltas are replayed forward, once. A chain can be
 * thousands of checkpoints long (a growing list is never rewritten in
 * snapshots); loading each checkpoint on its own replayed its whole chain
 * every time, so reading a thread's history cost the square of its length.
 * A store without `getPendingWrites` is read one `get` per checkpoint.
 */
export async function* historyLoads(
  checkpointer: Checkpointer,
  spec: GraphSpec,
  threadId: string,
  options: HistoryOptions,
): AsyncGenerator<LoadedCheckpoint> {
  const { namespace } = options;
  let run: CheckpointHeader[] = [];
  const flush = async function* () {
    const headers = run;
    run = [];
    if (headers.length > 0) yield* chainLoads(checkpointer, spec, threadId, namespace, headers);
  };
  for await (const header of checkpointer.list(threadId, options)) {
    const last = run.at(-1);
    if (last !== undefined && (last.chain.baseId !== header.chain.baseId || run.length >= BATCH))
      yield* flush();
    run.push(header);
  }
  yield* flush();
}

/** Loads for `headers`, newest first, all of one chain (they share its base). */
async function* chainLoads(
  checkpointer: Checkpointer,
  spec: GraphSpec,
  threadId: string,
  namespace: string,
  headers: readonly CheckpointHeader[],
): AsyncGenerator<LoadedCheckpoint> {
  const get = async (id: string) => {
    const loaded = await checkpointer.get(threadId, { namespace, checkpointId: id });
    return loaded === undefined ? [] : [loaded];
  };
  const [newest, ...older] = headers as [CheckpointHeader, ...CheckpointHeader[]];
  const loadedNewest = await checkpointer.get(threadId, { namespace, checkpointId: newest.id });
  if (loadedNewest === undefined) return;
  yield loadedNewest;
  if (older.length === 0) return;
  const position = new Map(loadedNewest.deltas.map((delta, index) => [delta.checkpointId, index]));
  const pendingOf = checkpointer.getPendingWrites?.bind(checkpointer);
  if (pendingOf === undefined) {
    for (const header of older) yield* await get(header.id);
    return;
  }
  // Replayed forward from the base, once; each older checkpoint's state is
  // taken when reached. One off the newest one's path (its chain's base,
  // whose own writes a load does not return) is loaded on its own: cheap,
  // its chain is itself.
  const wanted = new Map(
    older.filter((header) => position.has(header.id)).map((header) => [header.id, header]),
  );
  const taken = new Map<string, LoadedCheckpoint>();
  if (wanted.size > 0) {
    const channels = ChannelSet.fromLoaded(
      spec.channels,
      spec.stateKeys,
      { ...loadedNewest, deltas: [] },
      { skipUnknown: true },
    );
    const last = Math.max(...[...wanted.keys()].map((id) => position.get(id)!));
    for (const [index, delta] of loadedNewest.deltas.entries()) {
      if (index > last) break;
      channels.apply(delta.writes.filter((write) => spec.channels.has(write.channel)));
      const header = wanted.get(delta.checkpointId);
      if (header === undefined) continue;
      taken.set(header.id, {
        checkpoint: { ...header, writes: delta.writes },
        base: { checkpointId: header.id, values: channels.snapshot() },
        deltas: [],
        pendingWrites: await pendingOf({ threadId, namespace, checkpointId: header.id }),
      });
    }
  }
  // Newest first, as listed.
  for (const header of older) {
    const loaded = taken.get(header.id);
    if (loaded !== undefined) yield loaded;
    else yield* await get(header.id);
  }
}
