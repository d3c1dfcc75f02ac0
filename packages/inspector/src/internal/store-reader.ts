import type {
  CheckpointHeader,
  Checkpointer,
  LoadedCheckpoint,
  ThreadExport,
} from "@waypoint/checkpoint";
import { ThreadNotFoundError } from "@waypoint/checkpoint";
import type { CompiledGraph, StateDefinition } from "@waypoint/core";
import { newestGraphName } from "@waypoint/core/inspect";

export type AnyGraph = CompiledGraph<StateDefinition>;

/** What the inspector reads a store through: the checkpointer, the graphs it was given, and caches. */
export interface StoreReader {
  readonly checkpointer: Checkpointer;
  readonly graphs: Readonly<Record<string, AnyGraph>>;
  /** Every header of a thread and namespace, oldest first. THREAD_NOT_FOUND when it has none. */
  headers(threadId: string, namespace?: string): Promise<CheckpointHeader[]>;
  /**
   * One checkpoint with its writes and pending writes. `settled`: the
   * checkpoint has a child, so its pending writes will not change and it may be cached.
   */
  load(
    threadId: string,
    checkpointId: string,
    namespace?: string,
    settled?: boolean,
  ): Promise<LoadedCheckpoint>;
  /** The thread as stored, for sizes and namespaces (cached per head). */
  exported(threadId: string): Promise<ThreadExport>;
  /** The graph that wrote the thread, when the inspector was given it. */
  graphFor(headers: readonly CheckpointHeader[]): { name: string | null; graph?: AnyGraph };
}

const CACHE_LIMIT = 2000;

export function createStoreReader(
  checkpointer: Checkpointer,
  graphs: Readonly<Record<string, AnyGraph>>,
): StoreReader {
  // A checkpoint never changes once written, but its pending writes do until
  // the next one exists: only settled checkpoints are cached.
  const loaded = new Map<string, LoadedCheckpoint>();
  const exports = new Map<string, { headId: string; data: ThreadExport }>();

  return {
    checkpointer,
    graphs,
    async headers(threadId, namespace = "") {
      const list: CheckpointHeader[] = [];
      for await (const header of checkpointer.list(threadId, { namespace })) list.push(header);
      if (list.length === 0) throw new ThreadNotFoundError(threadId);
      return list.reverse();
    },
    async load(threadId, checkpointId, namespace = "", settled = false) {
      const key = `${threadId}\u0000${namespace}\u0000${checkpointId}`;
      const cached = loaded.get(key);
      if (cached) return cached;
      const result = await checkpointer.get(threadId, { namespace, checkpointId });
      if (result === undefined) throw new ThreadNotFoundError(threadId);
      if (settled) {
        loaded.set(key, result);
        if (loaded.size > CACHE_LIMIT) loaded.delete(loaded.keys().next().value!);
      }
      return result;
    },
    async exported(threadId) {
      let headId = "";
      for await (const header of checkpointer.list(threadId, { limit: 1 })) headId = header.id;
      const cached = exports.get(threadId);
      if (cached && cached.headId === headId) return cached.data;
      const data = await checkpointer.exportThread(threadId);
      exports.set(threadId, { headId, data });
      if (exports.size > 50) exports.delete(exports.keys().next().value!);
      return data;
    },
    graphFor(list) {
      const name = newestGraphName(list) ?? null;
      // By key, or by the name the graph records (a module's export name may differ from it).
      const graph =
        name === null
          ? undefined
          : Object.hasOwn(graphs, name)
            ? graphs[name]
            : Object.values(graphs).find((candidate) => candidate.identity.name === name);
      return graph ? { name, graph } : { name };
    },
  };
}
