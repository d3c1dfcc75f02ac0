import { Redis, type Cluster } from "ioredis";
import {
  CheckpointConflictError,
  CheckpointNotFoundError,
  CorruptRecordError,
  LeaseLostError,
  createSerializer,
  type CheckpointAddress,
  type CheckpointHeader,
  type Checkpointer,
  type GetOptions,
  type ListOptions,
  type ListThreadsOptions,
  type LoadedCheckpoint,
  type PendingWrite,
  type PruneOptions,
  type PruneResult,
  type PutPendingWritesOptions,
  type PutRequest,
  type RunStore,
  type Serializer,
  type ThreadExport,
  type ThreadPage,
} from "@waypoint/checkpoint";
import {
  decodePendingWrite,
  sortPending,
  ANCHOR_EVERY,
  checkMetadataFilter,
  checkFence,
  assertId,
  decodeLoaded,
  headerDecoder,
  encodePendingWrites,
  encodePut,
  matchesFilter,
  resolveLimit,
  resolveNamespace,
  resolveSnapshotPolicy,
  validateThreadExport,
  type EncodedCheckpoint,
  type EncodedHeader,
  type EncodedLink,
  type EncodedPendingWrite,
  type SnapshotPolicy,
  reportControl,
  resolveAddress,
} from "@waypoint/checkpoint/backend";
import { CommandRunner, connectionCommandTimeout } from "./internal/command-runner.js";
import { Keys } from "./internal/keys.js";
import { deleteThread, prune, sweep, type RedisStore } from "./internal/retention.js";
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  checkOptions,
} from "./internal/options.js";
import {
  chainLengthOf,
  decodeLink,
  decodePendingRecord,
  decodeRecord,
  decodeRecordHeader,
  encodeRecordHeader,
  recordLabel,
} from "./internal/records.js";
import { listThreads } from "./internal/thread-list.js";
import {
  exportThread,
  indexThread,
  writeThread,
  type ThreadTtl,
} from "./internal/thread-transfer.js";
import type { RedisCheckpointerOptions } from "./redis-checkpointer-options.js";
import { RedisRunStore } from "./redis-run-store.js";

/** Headers per page of a namespace's index (list). */
const PAGE_SIZE = 100;

/**
 * A checkpointer on plain Redis 7 or later: no modules, no KEYS or SCAN on the
 * hot path. Each write is one Lua script (one round trip, atomic); a load is
 * one script too.
 */
export class RedisCheckpointer implements Checkpointer {
  private readonly redis: Redis | Cluster;
  private readonly owned: boolean;
  private readonly keys: Keys;
  readonly serializer: Serializer;
  private readonly policy: SnapshotPolicy;
  private readonly onCorrupt: (error: CorruptRecordError) => void;
  private readonly ttl: ThreadTtl;
  private closed = false;
  /** Sends the scripts and commands, with bounded retries (internal/command-runner.ts). */
  private readonly runner: CommandRunner;
  private readonly runStore: RedisRunStore;
  /** What the retention functions use (internal/retention.ts). */
  private readonly store: RedisStore;

  constructor(options: RedisCheckpointerOptions) {
    checkOptions(options);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.owned = options.redis === undefined;
    // Not resending unfulfilled commands after a reconnect: a write that may
    // have run is checked before it is sent again (CommandRunner.run). ioredis 6.0.0
    // then drops such a command without settling it (redis/ioredis#2193, fixed
    // after that release); the command timeout turns that hang into a retry.
    this.redis =
      options.redis ??
      new Redis(options.url!, {
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 2,
        commandTimeout: commandTimeout,
        connectTimeout: commandTimeout,
      });
    // A connection's own command timeout (ours, or one set on a borrowed connection) ends a first
    // attempt in time, so the put path sets no timer of its own.
    const own = this.owned ? commandTimeout : connectionCommandTimeout(this.redis);
    this.runner = new CommandRunner(this.redis, {
      attempts: options.attempts ?? 8,
      timeoutMs,
      firstAttemptBounded: own !== undefined && own < timeoutMs,
    });
    this.onCorrupt =
      options.onCorrupt ?? ((error) => process.emitWarning(error.message, "WaypointCorruptRecord"));
    // An owned connection reports failures through the commands it fails; without a listener,
    // ioredis would print every reconnect attempt as an unhandled error.
    if (this.owned) this.redis.on("error", () => undefined);
    this.keys = new Keys(options.prefix ?? "waypoint");
    this.serializer = options.serializer ?? createSerializer();
    this.policy = resolveSnapshotPolicy(options.snapshots);
    this.ttl = [
      Math.round((options.ttlSeconds ?? 0) * 1000),
      options.refreshTtlOnWrite === false ? "0" : "1",
    ];
    this.runStore = new RedisRunStore({
      redis: this.redis,
      keys: this.keys,
      serializer: this.serializer,
      redeliverMs: options.redeliverMs ?? 15_000,
      run: (operation, attempt, committed) => this.runner.run(operation, attempt, committed),
      script: (name, keys, args) => this.runner.script(name, keys, args),
    });
    this.store = {
      redis: this.redis,
      keys: this.keys,
      run: (operation, attempt) => this.runner.run(operation, attempt),
      script: (name, keys, args) => this.runner.script(name, keys, args),
    };
  }

  /** The run queue, in the same Redis: claims through a consumer group, fences checked by `put`. */
  get runs(): RunStore {
    return this.runStore;
  }

  async put(request: PutRequest): Promise<CheckpointHeader> {
    const { record, header, expectedHeadId, pendingWrites } = encodePut(
      request,
      this.serializer,
      this.policy,
    );
    const { threadId, namespace, id } = record;
    const fence = request.fence;
    const keys = this.keys.of(threadId, namespace);
    // The thread index lives in another slot, so it cannot be part of the script. It is written
    // before the first checkpoint, so a crash in between leaves an empty entry, never an unlisted
    // thread. On one connection to one server Redis runs commands in the order sent, so the ZADD
    // is sent right before the script, in the same round trip; a cluster may route them to two
    // nodes, so there the script waits for the ZADD's reply.
    const indexed =
      expectedHeadId === null ? this.runner.run("put", () => this.index(threadId)) : undefined;
    if (indexed !== undefined && this.redis.isCluster) await indexed;
    let retry = false;
    const stored = this.runner.run(
      "put",
      async () => {
        // A retry is sent only once the index is written, whatever became of the first send.
        if (retry) await indexed;
        retry = true;
        // The namespaces set is touched only by a namespace's first checkpoint, and by the TTL;
        // wpPutPending always takes it (it names the thread's tag).
        const registers = expectedHeadId === null || this.ttl[0] > 0 || pendingWrites !== undefined;
        const scriptKeys = registers
          ? [keys.head, keys.cps, keys.idx, this.keys.namespaces(threadId)]
          : [keys.head, keys.cps, keys.idx];
        const args = [
          encodeRecordHeader(record),
          record.writes,
          record.snapshot ?? "",
          expectedHeadId === null
            ? ""
            : expectedHeadId === record.parentId
              ? "\u0000"
              : expectedHeadId,
          ...(registers ? [namespace, ...this.ttl] : []),
        ];
        const alone = pendingWrites === undefined;
        if (!alone) {
          // Written by the same script, to the new checkpoint's pending-writes hash.
          scriptKeys.push(keys.pw + id);
          args.push(id, ...pendingFields(pendingWrites));
        }
        // A fence adds the run's hash and the token; an unfenced put sends nothing more.
        return fence === undefined
          ? this.runner.script(alone ? "wpPut" : "wpPutPending", scriptKeys, args)
          : this.runner.script(
              alone ? "wpPutFenced" : "wpPutPendingFenced",
              [this.keys.run(threadId, fence.runId), ...scriptKeys],
              [fence.token, ...args],
            );
      },
      async () => ((await this.redis.hexists(keys.cps, `h:${id}`)) === 1 ? ["ok", ""] : undefined),
    );
    const [outcome, actual, control] = (await (indexed === undefined
      ? stored
      : Promise.all([indexed, stored]).then(([, reply]) => reply))) as [string, string, string?];
    if (outcome === "ok") {
      // The script answers "" for no pending request.
      if (fence !== undefined) reportControl(fence, control || null);
      return header;
    }
    if (outcome === "lost") throw new LeaseLostError(fence!.runId, fence!.token, actual);
    if (outcome === "conflict") {
      throw new CheckpointConflictError({
        threadId,
        namespace,
        expectedHeadId,
        actualHeadId: actual === "" ? null : actual,
      });
    }
    throw new CheckpointNotFoundError(threadId, namespace, record.parentId ?? "(none)");
  }

  async putPendingWrites(
    target: CheckpointAddress,
    writes: readonly PendingWrite[],
    options: PutPendingWritesOptions = {},
  ): Promise<void> {
    const address = resolveAddress(target);
    const { namespace } = address;
    if (options.fence !== undefined) checkFence(options.fence);
    const encoded = encodePendingWrites(address, writes, this.serializer);
    const keys = this.keys.of(target.threadId, namespace);
    const scriptKeys = [keys.cps, keys.pw + target.checkpointId];
    const args = [
      target.checkpointId,
      this.keys.tag(target.threadId),
      ...this.ttl,
      ...pendingFields(encoded),
    ];
    const fence = options.fence;
    let found: unknown;
    if (fence === undefined) {
      found = await this.runner.run("putPendingWrites", () =>
        this.runner.script("wpPending", scriptKeys, args),
      );
    } else {
      const runKey = this.keys.run(target.threadId, fence.runId);
      const reply = (await this.runner.run("putPendingWrites", () =>
        this.runner.script("wpPendingFenced", [runKey, ...scriptKeys], [fence.token, ...args]),
      )) as [string | number, string];
      if (reply[0] === "lost") throw new LeaseLostError(fence.runId, fence.token, reply[1]);
      found = reply[0];
      if (found !== 0) reportControl(fence, reply[1] || null);
    }
    if (found === 0)
      throw new CheckpointNotFoundError(target.threadId, namespace, target.checkpointId);
  }

  async getPendingWrites(address: CheckpointAddress): Promise<PendingWrite[]> {
    const { threadId, namespace, checkpointId } = resolveAddress(address);
    const keys = this.keys.of(threadId, namespace);
    const texts = await this.runner.run<string[]>("getPendingWrites", () =>
      this.redis.hvals(`${keys.pw}${checkpointId}`),
    );
    const where = () => recordLabel(threadId, namespace, checkpointId);
    return sortPending(texts.map((text, index) => decodePendingRecord(text, where, index))).map(
      (record) => decodePendingWrite(record, this.serializer),
    );
  }

  async get(threadId: string, options: GetOptions = {}): Promise<LoadedCheckpoint | undefined> {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    if (options.checkpointId !== undefined) assertId(options.checkpointId, "checkpointId");
    // Records never change once written; one deleted between the two reads
    // (a thread deleted or pruned meanwhile) makes the load start over once.
    for (let attempt = 1; ; attempt += 1) {
      const loaded = await this.load(threadId, namespace, options.checkpointId, attempt > 1);
      if (loaded !== "moved") return loaded;
    }
  }

  /** One load: the chain's ids and headers by script, then its deltas and base snapshot by one HMGET. */
  private async load(
    threadId: string,
    namespace: string,
    checkpointId: string | undefined,
    last: boolean,
  ): Promise<LoadedCheckpoint | undefined | "moved"> {
    const keys = this.keys.of(threadId, namespace);
    const label = () => recordLabel(threadId, namespace, checkpointId ?? "(head)");
    const reply = (await this.runner.run(
      "get",
      () =>
        this.runner.script("wpGet", [keys.head, keys.cps, keys.idx], [checkpointId ?? "", keys.pw]),
      undefined,
      label,
    )) as [string, string?, [string[], (string | null)[][], (string | null)[]?]?, string[]?];
    if (reply[0] === "none") return undefined;
    if (reply[0] === "missing")
      throw new CheckpointNotFoundError(threadId, namespace, checkpointId ?? "(head)");
    if (reply[0] === "corrupt") {
      const where = recordLabel(threadId, namespace, reply[1]!);
      throw new CorruptRecordError(`${where}, header`, "unknown or truncated stored layout");
    }
    const [, targetId, [ids, headerBatches, inline], pending] = reply as [
      string,
      string,
      [string[], (string | null)[][], (string | null)[]?],
      string[],
    ];
    const headers = headerBatches.flat();
    // A long chain's deltas and base snapshot: one HMGET (a short one's came with the script).
    const payloads =
      inline ??
      (await this.runner.run<(string | null)[]>(
        "get",
        () => this.redis.hmget(keys.cps, ...ids.map((id) => `p:${id}`), `s:${ids[0]}`),
        undefined,
        label,
      ));
    const baseSnapshot = payloads[ids.length] ?? "";
    // Only the records from the target's anchor on are decoded from their headers.
    const targetHeader = headers[ids.length - 1];
    const fullFrom =
      typeof targetHeader === "string"
        ? ids.length - 1 - (chainLengthOf(targetHeader) % ANCHOR_EVERY)
        : 0;
    const records: EncodedLink[] = [];
    let target: EncodedCheckpoint | undefined;
    for (const [i, id] of ids.entries()) {
      const header = headers[i];
      const delta = payloads[i];
      if (typeof header !== "string") continue; // not in the index's hash: the decoder names the gap
      if (typeof delta !== "string" && !header.startsWith("{")) {
        if (!last) return "moved";
        throw new CorruptRecordError(
          `${recordLabel(threadId, namespace, id)}, writes`,
          "the checkpoint's delta is missing",
        );
      }
      const snapshot = i === 0 ? baseSnapshot : "";
      if (id === targetId) {
        target = decodeRecord(header, delta ?? "", snapshot, threadId, namespace, id);
        records.push(target);
      } else if (i >= fullFrom) {
        records.push(decodeRecord(header, delta ?? "", snapshot, threadId, namespace, id));
      } else {
        records.push(decodeLink(header, delta ?? "", snapshot, threadId, namespace, id));
      }
    }
    if (target === undefined) {
      const where = recordLabel(threadId, namespace, targetId);
      throw new CorruptRecordError(`${where}, header`, "the target is missing from its chain");
    }
    const where = () => recordLabel(threadId, namespace, targetId);
    return decodeLoaded(
      target,
      records,
      pending.map((text, index) => decodePendingRecord(text, where, index)),
      this.serializer,
    );
  }

  async *list(threadId: string, options: ListOptions = {}): AsyncIterable<CheckpointHeader> {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    if (options.before !== undefined) assertId(options.before, "before");
    checkMetadataFilter(options.filter);
    const limit = resolveLimit(
      options.limit,
      "limit",
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    );
    const keys = this.keys.of(threadId, namespace);
    let before = options.before ?? "";
    let yielded = 0;
    for (;;) {
      const [page, older] = (await this.runner.run(
        "list",
        () => this.runner.script("wpListPage", [keys.idx, keys.cps], [before, PAGE_SIZE]),
        undefined,
        () => recordLabel(threadId, namespace, before || "(head)"),
      )) as [string[], string[]];
      const records: EncodedHeader[] = [];
      for (const list of [page, older]) {
        for (let i = 0; i < list.length; i += 2) {
          records.push(decodeRecordHeader(list[i + 1]!, threadId, namespace, list[i]!));
        }
      }
      // The records after the page's are the older ones its delta headers decode from.
      const decodeHeader = headerDecoder(records, this.serializer);
      for (const stored of records.slice(0, page.length / 2)) {
        const header = decodeHeader(stored);
        if (!matchesFilter(header.metadata, options.filter)) continue;
        yield header;
        if (++yielded >= limit) return;
      }
      if (page.length < 2 * PAGE_SIZE) return;
      before = page[page.length - 2]!;
    }
  }

  async listNamespaces(threadId: string): Promise<string[]> {
    assertId(threadId, "threadId");
    // A namespace joins the thread's set with its first checkpoint, and leaves it with the thread.
    const namespaces = await this.runner.run<string[]>("listNamespaces", () =>
      this.redis.smembers(this.keys.namespaces(threadId)),
    );
    return namespaces.sort();
  }

  listThreads(options: ListThreadsOptions = {}): Promise<ThreadPage> {
    return listThreads(this.runner, this.keys, this.onCorrupt, options);
  }

  deleteThread(threadId: string): Promise<boolean> {
    return deleteThread(this.store, threadId);
  }

  /**
   * Takes threads whose TTL ran out off the thread index, `batch` at a time,
   * and returns how many. Redis expires a thread's own keys by itself; its
   * entry in the thread index lives in another slot, so it stays until a
   * sweep finds the thread gone (`listThreads` skips it meanwhile). A thread
   * that is still alive (its expiry moved on a write) is looked at again when
   * it is due. Call it now and then, as PostgresCheckpointer's `sweep()`.
   */
  sweep(options: { batch?: number } = {}): Promise<number> {
    return sweep(this.store, options);
  }

  prune(options: PruneOptions): Promise<PruneResult> {
    return prune(this.store, options);
  }

  async copyThread(fromThreadId: string, toThreadId: string): Promise<void> {
    const source = await this.exportThread(fromThreadId);
    assertId(toThreadId, "toThreadId");
    await this.write(validateThreadExport(source, this.serializer, toThreadId));
  }

  exportThread(threadId: string): Promise<ThreadExport> {
    return exportThread(this.runner, this.keys, threadId);
  }

  async importThread(data: ThreadExport): Promise<void> {
    await this.write(validateThreadExport(data, this.serializer));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runner.close();
    await this.runStore.closeWatches();
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private index(threadId: string): Promise<unknown> {
    return indexThread(this.runner, this.keys, this.ttl, threadId);
  }

  /** Writes a validated export as one script, unless the thread exists. */
  private write(data: ThreadExport): Promise<void> {
    return writeThread(this.runner, this.keys, this.ttl, data);
  }
}

/** A pending-writes hash's fields and values: one field per (taskId, idx), which a later write replaces. */
function pendingFields(writes: readonly EncodedPendingWrite[]): string[] {
  return writes.flatMap((write) => [`${write.taskId}\u0000${write.idx}`, JSON.stringify(write)]);
}
