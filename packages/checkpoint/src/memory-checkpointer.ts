import type { CheckpointAddress, CheckpointHeader } from "./checkpoint.js";
import type {
  Checkpointer,
  CheckpointerOptions,
  GetOptions,
  ListOptions,
  LoadedCheckpoint,
  PruneOptions,
  PruneResult,
  PutPendingWritesOptions,
  PutRequest,
  ThreadExport,
} from "./checkpointer.js";
import {
  CheckpointConflictError,
  CheckpointNotFoundError,
  CheckpointerClosedError,
  ThreadExistsError,
  ThreadNotFoundError,
} from "./errors.js";
import { atomically } from "./internal/atomic.js";
import { assertId, resolveAddress, resolveLimit, resolveNamespace } from "./internal/arguments.js";
import { checkMetadataFilter } from "./internal/metadata-text.js";
import { checkPruneOptions, pruneSelection } from "./internal/retention.js";
import { listThreadPage } from "./internal/thread-pages.js";
import { MemoryRunStore } from "./memory-runs.js";
import type { PendingWrite } from "./pending-writes.js";
import type { EncodedCheckpoint, EncodedPendingWrite } from "./record.js";
import { encodePendingWrites, encodePut } from "./record-codec.js";
import {
  chainPath,
  decodeLoaded,
  decodePendingWrite,
  headerDecoder,
  matchesFilter,
  sortPending,
} from "./record-decode.js";
import { createSerializer, type Serializer } from "./serializer.js";
import { resolveSnapshotPolicy, type SnapshotPolicy } from "./snapshot-policy.js";
import { threadExport, validateThreadExport } from "./thread-export.js";
import type { ListThreadsOptions, ThreadPage } from "./threads.js";

interface NamespaceState {
  headId: string;
  /** Ids only grow within a namespace, so insertion order is creation order. */
  readonly checkpoints: Map<string, EncodedCheckpoint>;
  /** checkpoint id → "taskId\0idx" → write */
  readonly pending: Map<string, Map<string, EncodedPendingWrite>>;
}

type ThreadState = Map<string, NamespaceState>;

/** Saves encoded writes against their checkpoints; a write to a saved (taskId, idx) replaces it. */
function storePending(
  pending: NamespaceState["pending"],
  writes: readonly EncodedPendingWrite[],
): void {
  for (const write of writes) {
    let forCheckpoint = pending.get(write.checkpointId);
    if (forCheckpoint === undefined) {
      forCheckpoint = new Map();
      pending.set(write.checkpointId, forCheckpoint);
    }
    forCheckpoint.set(`${write.taskId}\u0000${write.idx}`, write);
  }
}

/**
 * Keeps checkpoints in this process's memory, as the same serialized records
 * the durable backends store, so that it fails on exactly the values they
 * would fail on. For tests and short-lived runs: nothing survives a restart.
 */
export class MemoryCheckpointer implements Checkpointer {
  private threads = new Map<string, ThreadState>();
  readonly serializer: Serializer;
  private readonly policy: SnapshotPolicy;
  private closed = false;
  readonly runs: MemoryRunStore;

  constructor(options: CheckpointerOptions = {}) {
    this.serializer = options.serializer ?? createSerializer();
    this.policy = resolveSnapshotPolicy(options.snapshots);
    this.runs = new MemoryRunStore(this.serializer, () => this.assertOpen());
  }

  put(request: PutRequest): Promise<CheckpointHeader> {
    return this.run(() => {
      const { record, header, expectedHeadId, pendingWrites } = encodePut(
        request,
        this.serializer,
        this.policy,
      );
      const reportControl = this.runs.admit(request.fence);
      const state = this.threads.get(record.threadId)?.get(record.namespace);
      const actualHeadId = state?.headId ?? null;
      if (actualHeadId !== expectedHeadId) {
        throw new CheckpointConflictError({
          threadId: record.threadId,
          namespace: record.namespace,
          expectedHeadId,
          actualHeadId,
        });
      }
      if (record.parentId !== null && !state?.checkpoints.has(record.parentId)) {
        throw new CheckpointNotFoundError(record.threadId, record.namespace, record.parentId);
      }
      const written = this.namespaceFor(record.threadId, record.namespace, record.id);
      written.checkpoints.set(record.id, record);
      if (pendingWrites !== undefined) storePending(written.pending, pendingWrites);
      reportControl?.();
      return header;
    });
  }

  putPendingWrites(
    target: CheckpointAddress,
    writes: readonly PendingWrite[],
    options: PutPendingWritesOptions = {},
  ): Promise<void> {
    return this.run(() => {
      const reportControl = this.runs.admit(options.fence);
      const { state, namespace } = this.locate(target.threadId, target.namespace);
      assertId(target.checkpointId, "checkpointId");
      if (!state?.checkpoints.has(target.checkpointId)) {
        throw new CheckpointNotFoundError(target.threadId, namespace, target.checkpointId);
      }
      const encoded = encodePendingWrites(
        { threadId: target.threadId, namespace, checkpointId: target.checkpointId },
        writes,
        this.serializer,
      );
      storePending(state.pending, encoded);
      reportControl?.();
    });
  }

  getPendingWrites(address: CheckpointAddress): Promise<PendingWrite[]> {
    return this.run(() => {
      const { threadId, namespace, checkpointId } = resolveAddress(address);
      const { state } = this.locate(threadId, namespace);
      const pending = [...(state?.pending.get(checkpointId)?.values() ?? [])];
      return sortPending(pending).map((write) => decodePendingWrite(write, this.serializer));
    });
  }

  get(threadId: string, options: GetOptions = {}): Promise<LoadedCheckpoint | undefined> {
    return this.run(() => {
      const { state, namespace } = this.locate(threadId, options.namespace);
      const id = options.checkpointId;
      if (id !== undefined) assertId(id, "checkpointId");
      const target = state?.checkpoints.get(id ?? state.headId);
      if (target === undefined) {
        if (id === undefined) return undefined;
        throw new CheckpointNotFoundError(threadId, namespace, id);
      }
      const segment = chainPath(target, state!.checkpoints);
      const pending = [...(state!.pending.get(target.id)?.values() ?? [])];
      return decodeLoaded(target, segment, pending, this.serializer);
    });
  }

  async *list(threadId: string, options: ListOptions = {}): AsyncIterable<CheckpointHeader> {
    this.assertOpen();
    const { state } = this.locate(threadId, options.namespace);
    if (options.before !== undefined) assertId(options.before, "before");
    checkMetadataFilter(options.filter);
    const limit = resolveLimit(
      options.limit,
      "limit",
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    );
    if (state === undefined) return;
    const records = [...state.checkpoints.values()].reverse();
    // A header may be a delta from its parent's: the decoder finds the parents among the records.
    const decodeHeader = headerDecoder(state.checkpoints, this.serializer);
    let yielded = 0;
    for (const record of records) {
      if (yielded >= limit) return;
      if (options.before !== undefined && record.id >= options.before) continue;
      const header = decodeHeader(record);
      if (!matchesFilter(header.metadata, options.filter)) continue;
      yielded += 1;
      yield header;
    }
  }

  listThreads(options: ListThreadsOptions = {}): Promise<ThreadPage> {
    return this.run(() => undefined).then(() =>
      listThreadPage(options, (after) => {
        // Memory holds every thread at hand: one page of all of them after the cursor.
        const ids = [...this.threads.keys()].filter((id) => id > after).sort();
        const heads = ids.flatMap((threadId) => {
          const root = this.threads.get(threadId)?.get("");
          const head = root?.checkpoints.get(root.headId);
          if (root === undefined || head === undefined) return [];
          const pending = [...(root.pending.get(head.id)?.values() ?? [])];
          return [
            {
              threadId,
              headId: head.id,
              step: head.step,
              createdAt: head.createdAt,
              nextCount: head.nextCount,
              pendingChannels: pending.map((w) => w.channel),
            },
          ];
        });
        return { heads, last: undefined };
      }),
    );
  }

  listNamespaces(threadId: string): Promise<string[]> {
    return this.run(() => {
      assertId(threadId, "threadId");
      const thread = this.threads.get(threadId) ?? new Map<string, NamespaceState>();
      return [...thread]
        .filter(([, state]) => state.checkpoints.size > 0)
        .map(([namespace]) => namespace)
        .sort();
    });
  }

  deleteThread(threadId: string): Promise<boolean> {
    return this.run(() => {
      assertId(threadId, "threadId");
      return this.threads.delete(threadId);
    });
  }

  prune(options: PruneOptions): Promise<PruneResult> {
    return this.run(() => {
      checkPruneOptions(options);
      const threadIds =
        options.threadId === undefined ? [...this.threads.keys()] : [options.threadId];
      let deleted = 0;
      for (const threadId of threadIds) {
        for (const state of this.threads.get(threadId)?.values() ?? []) {
          const records = [...state.checkpoints.values()];
          for (const id of pruneSelection(records, state.headId, options)) {
            state.checkpoints.delete(id);
            state.pending.delete(id);
            deleted += 1;
          }
        }
      }
      return { deleted };
    });
  }

  copyThread(fromThreadId: string, toThreadId: string): Promise<void> {
    return this.run(() => {
      const source = this.exportNow(fromThreadId);
      this.importNow({ ...source }, toThreadId);
    });
  }

  exportThread(threadId: string): Promise<ThreadExport> {
    return this.run(() => this.exportNow(threadId));
  }

  importThread(data: ThreadExport): Promise<void> {
    return this.run(() => this.importNow(data));
  }

  close(): Promise<void> {
    this.closed = true;
    this.threads = new Map();
    return this.runs.closeWatches();
  }

  private exportNow(threadId: string): ThreadExport {
    assertId(threadId, "threadId");
    const thread = this.threads.get(threadId);
    if (thread === undefined) throw new ThreadNotFoundError(threadId);
    const namespaces = [...thread.values()];
    return threadExport(
      threadId,
      namespaces.flatMap((state) => [...state.checkpoints.values()]),
      namespaces.flatMap((state) => [...state.pending.values()].flatMap((m) => [...m.values()])),
    );
  }

  private importNow(data: ThreadExport, threadId?: string): void {
    const valid = validateThreadExport(data, this.serializer, threadId);
    if (this.threads.has(valid.threadId)) throw new ThreadExistsError(valid.threadId);
    const sorted = [...valid.checkpoints].sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const record of sorted) {
      this.namespaceFor(record.threadId, record.namespace, record.id).checkpoints.set(
        record.id,
        record,
      );
    }
    const thread = this.threads.get(valid.threadId);
    for (const write of valid.pendingWrites) {
      const pending = thread?.get(write.namespace)?.pending;
      if (pending !== undefined) storePending(pending, [write]);
    }
  }

  /** The namespace's state, created if needed, with its head moved to `headId`. */
  private namespaceFor(threadId: string, namespace: string, headId: string): NamespaceState {
    let thread = this.threads.get(threadId);
    if (thread === undefined) {
      thread = new Map();
      this.threads.set(threadId, thread);
    }
    let state = thread.get(namespace);
    if (state === undefined) {
      state = { headId, checkpoints: new Map(), pending: new Map() };
      thread.set(namespace, state);
    }
    state.headId = headId;
    return state;
  }

  private locate(threadId: string, namespaceOption: string | undefined) {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(namespaceOption);
    return { namespace, state: this.threads.get(threadId)?.get(namespace) };
  }

  /** Runs synchronously, so every operation is atomic; errors become rejections. */
  private run<T>(operation: () => T): Promise<T> {
    return atomically(() => this.assertOpen(), operation);
  }

  private assertOpen(): void {
    if (this.closed) throw new CheckpointerClosedError("MemoryCheckpointer");
  }
}
