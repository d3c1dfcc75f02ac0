import { Redis, type Cluster } from "ioredis";
import {
  CheckpointConflictError,
  CheckpointNotFoundError,
  CheckpointerClosedError,
  CorruptRecordError,
  ERROR_CHANNEL,
  LeaseLostError,
  StorageUnavailableError,
  ThreadExistsError,
  createSerializer,
  type CheckpointAddress,
  type CheckpointHeader,
  type Checkpointer,
  type CheckpointerOptions,
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
  checkMetadataFilter,
  checkFence,
  assertId,
  decodeHeader,
  decodeLoaded,
  encodePendingWrites,
  encodePut,
  listThreadPage,
  matchesFilter,
  resolveLimit,
  resolveNamespace,
  resolveSnapshotPolicy,
  validateThreadExport,
  type EncodedCheckpoint,
  type EncodedPendingWrite,
  type SnapshotPolicy,
  reportControl,
  resolveAddress,
  threadExport,
} from "@waypoint/checkpoint/backend";
import { Keys } from "./internal/keys.js";
import { deleteThread, prune, sweep, type RedisStore } from "./internal/retention.js";
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  checkOptions,
} from "./internal/options.js";
import {
  decodePendingRecord,
  decodeRecord,
  decodeRecordHeader,
  encodeRecordHeader,
  recordLabel,
} from "./internal/records.js";
import { RUN_SCRIPTS } from "./internal/run-scripts.js";
import { SCRIPTS, type ScriptName } from "./internal/scripts.js";
import { RedisRunStore } from "./redis-run-store.js";

export interface RedisCheckpointerOptions extends CheckpointerOptions {
  /** A connection (or cluster) to borrow; left open on close. */
  readonly redis?: Redis | Cluster;
  /** Or a URL to open one (owned, closed on close). */
  readonly url?: string;
  /**
   * Key prefix (default "waypoint"); without `{` or `}`, which would move the
   * hash tag.
   */
  readonly prefix?: string;
  /** Tries of a command that failed with a dropped connection, LOADING or READONLY (default 8). */
  readonly attempts?: number;
  /**
   * An operation that cannot reach Redis (down, frozen, unreachable) fails
   * with STORAGE_UNAVAILABLE after at most about this long (default 8000):
   * retries stop, and a command still without a reply is given up. The
   * thread stays as the last write that returned left it, and resumes once
   * Redis is back. A write given up may still be applied later by Redis; a
   * resume reads the head and goes on from it.
   */
  readonly timeoutMs?: number;
  /**
   * Expire each thread this long after its last write (or after its first,
   * with `refreshTtlOnWrite: false`), every key of it at once, with Redis's
   * own expiry. Off by default.
   */
  readonly ttlSeconds?: number;
  /** Move a thread's expiry on every write (default true). */
  readonly refreshTtlOnWrite?: boolean;
  /**
   * For an owned connection: a command with no reply after this long fails and
   * is retried like a dropped connection, within `timeoutMs` (default 2000).
   */
  readonly commandTimeoutMs?: number;
  /**
   * Told of each thread that `listThreads` cannot list as it is stored (a
   * damaged head), or lists as `failed` because a pending write of its head
   * is damaged; the listing goes on with the other threads. Reading such a
   * thread fails with CORRUPT_RECORD. Default: a process warning.
   */
  readonly onCorrupt?: (error: CorruptRecordError) => void;
  /**
   * Run queue: a queue entry that a worker read but neither settled nor
   * rescheduled (it died in between) is delivered to another worker after
   * this long (XAUTOCLAIM's min idle time; default 15000). Also how often a
   * run waiting behind another run of its thread, or paused, is looked at
   * again. Keep it above the workers' heartbeat interval.
   */
  readonly redeliverMs?: number;
}

type ScriptClient = Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;
type Scripts = Record<ScriptName, { readonly lua: string; readonly numberOfKeys?: number }>;
const ALL_SCRIPTS: Scripts = { ...SCRIPTS, ...RUN_SCRIPTS };

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
  private readonly attempts: number;
  private readonly timeoutMs: number;
  /** Whether an attempt's own command timeout ends it before `timeoutMs` (no timer of ours). */
  private readonly firstAttemptBounded: boolean;
  private readonly onCorrupt: (error: CorruptRecordError) => void;
  private readonly ttl: readonly [ttlMs: number, refresh: string];
  private closed = false;
  /** Replies waited for with a deadline, and the timer that fails them (see bounded()). */
  private readonly waiting = new Set<Waiting>();
  private watchdog: NodeJS.Timeout | undefined;
  private readonly runStore: RedisRunStore;
  /** What the retention functions use (internal/retention.ts). */
  private readonly store: RedisStore;

  constructor(options: RedisCheckpointerOptions) {
    checkOptions(options);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.owned = options.redis === undefined;
    // Not resending unfulfilled commands after a reconnect: a write that may
    // have run is checked before it is sent again (see run()). ioredis 6.0.0
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
    this.firstAttemptBounded = own !== undefined && own < this.timeoutMs;
    this.onCorrupt =
      options.onCorrupt ?? ((error) => process.emitWarning(error.message, "WaypointCorruptRecord"));
    // An owned connection reports failures through the commands it fails; without a listener,
    // ioredis would print every reconnect attempt as an unhandled error.
    if (this.owned) this.redis.on("error", () => undefined);
    for (const [name, script] of Object.entries(ALL_SCRIPTS))
      this.redis.defineCommand(name, script);
    this.keys = new Keys(options.prefix ?? "waypoint");
    this.serializer = options.serializer ?? createSerializer();
    this.policy = resolveSnapshotPolicy(options.snapshots);
    this.attempts = options.attempts ?? 8;
    this.ttl = [
      Math.round((options.ttlSeconds ?? 0) * 1000),
      options.refreshTtlOnWrite === false ? "0" : "1",
    ];
    this.runStore = new RedisRunStore({
      redis: this.redis,
      keys: this.keys,
      serializer: this.serializer,
      redeliverMs: options.redeliverMs ?? 15_000,
      run: (operation, attempt, committed) => this.run(operation, attempt, committed),
      script: (name, keys, args) => this.script(name, keys, args),
    });
    this.store = {
      redis: this.redis,
      keys: this.keys,
      run: (operation, attempt) => this.run(operation, attempt),
      script: (name, keys, args) => this.script(name, keys, args),
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
      expectedHeadId === null ? this.run("put", () => this.index(threadId)) : undefined;
    if (indexed !== undefined && this.redis.isCluster) await indexed;
    let retry = false;
    const stored = this.run(
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
          ? this.script(alone ? "wpPut" : "wpPutPending", scriptKeys, args)
          : this.script(
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
      found = await this.run("putPendingWrites", () => this.script("wpPending", scriptKeys, args));
    } else {
      const runKey = this.keys.run(target.threadId, fence.runId);
      const reply = (await this.run("putPendingWrites", () =>
        this.script("wpPendingFenced", [runKey, ...scriptKeys], [fence.token, ...args]),
      )) as [string | number, string];
      if (reply[0] === "lost") throw new LeaseLostError(fence.runId, fence.token, reply[1]);
      found = reply[0];
      if (found !== 0) reportControl(fence, reply[1] || null);
    }
    if (found === 0)
      throw new CheckpointNotFoundError(target.threadId, namespace, target.checkpointId);
  }

  async get(threadId: string, options: GetOptions = {}): Promise<LoadedCheckpoint | undefined> {
    assertId(threadId, "threadId");
    const namespace = resolveNamespace(options.namespace);
    if (options.checkpointId !== undefined) assertId(options.checkpointId, "checkpointId");
    const keys = this.keys.of(threadId, namespace);
    const reply = (await this.run(
      "get",
      () =>
        this.script(
          "wpGet",
          [keys.head, keys.cps, keys.idx],
          [options.checkpointId ?? "", keys.pw],
        ),
      undefined,
      () => recordLabel(threadId, namespace, options.checkpointId ?? "(head)"),
    )) as [string, string?, string[]?, string[]?];
    if (reply[0] === "none") return undefined;
    if (reply[0] === "missing")
      throw new CheckpointNotFoundError(threadId, namespace, options.checkpointId ?? "(head)");
    if (reply[0] === "corrupt") {
      const where = recordLabel(threadId, namespace, reply[1]!);
      throw new CorruptRecordError(`${where}, header`, "unknown or truncated stored layout");
    }
    const [, targetId, chain, pending] = reply as [string, string, string[], string[]];
    const records: EncodedCheckpoint[] = [];
    for (let i = 0; i < chain.length; i += 4) {
      const [id, header, delta, snapshot] = chain.slice(i, i + 4) as [
        string,
        string,
        string,
        string,
      ];
      records.push(decodeRecord(header, delta, snapshot, threadId, namespace, id));
    }
    const target = records.find((r) => r.id === targetId)!;
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
      const page = (await this.run(
        "list",
        () => this.script("wpListPage", [keys.idx, keys.cps], [before, PAGE_SIZE]),
        undefined,
        () => recordLabel(threadId, namespace, before || "(head)"),
      )) as string[];
      for (let i = 0; i < page.length; i += 2) {
        const stored = decodeRecordHeader(page[i + 1]!, threadId, namespace, page[i]!);
        const header = decodeHeader(stored, this.serializer);
        if (!matchesFilter(header.metadata, options.filter)) continue;
        yield header;
        if (++yielded >= limit) return;
      }
      if (page.length < 2 * PAGE_SIZE) return;
      before = page[page.length - 2]!;
    }
  }

  async listThreads(options: ListThreadsOptions = {}): Promise<ThreadPage> {
    return listThreadPage(options, async (after) => {
      const ids = await this.run("listThreads", () =>
        this.redis.zrangebylex(
          this.keys.threads(),
          after === "" ? "-" : `(${after}`,
          "+",
          "LIMIT",
          0,
          PAGE_SIZE,
        ),
      );
      const replies = await Promise.all(
        ids.map((threadId) => {
          const keys = this.keys.of(threadId, "");
          return this.run(
            "listThreads",
            () => this.script("wpHeadStatus", [keys.head, keys.cps], [keys.pw]),
            undefined,
            () => `thread ${JSON.stringify(threadId)}`,
          ).catch((error: unknown) => {
            // One damaged thread (a key of the wrong type) never takes down the listing.
            if (!(error instanceof CorruptRecordError)) throw error;
            this.onCorrupt(error);
            return [];
          });
        }),
      );
      const heads = ids.flatMap((threadId, index) => {
        const [headId, headerText, pending] = replies[index] as [string?, string?, string[]?];
        // An indexed thread without a head: about to be created, or expired.
        if (headId === undefined) return [];
        try {
          const head = decodeRecordHeader(headerText ?? "", threadId, "", headId);
          return [
            {
              threadId,
              headId: head.id,
              step: head.step,
              createdAt: head.createdAt,
              nextCount: head.nextCount,
              pendingChannels: this.pendingChannels(threadId, headId, pending ?? []),
            },
          ];
        } catch (error) {
          // A head that cannot be read is left out of the page and reported.
          if (!(error instanceof CorruptRecordError)) throw error;
          this.onCorrupt(error);
          return [];
        }
      });
      return { heads, last: ids.length < PAGE_SIZE ? undefined : ids[ids.length - 1] };
    });
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

  async exportThread(threadId: string): Promise<ThreadExport> {
    assertId(threadId, "threadId");
    const namespaces = await this.run("exportThread", () =>
      this.redis.smembers(this.keys.namespaces(threadId)),
    );
    const checkpoints: EncodedCheckpoint[] = [];
    const pendingWrites: EncodedPendingWrite[] = [];
    for (const namespace of namespaces) {
      const keys = this.keys.of(threadId, namespace);
      const rows = (await this.run(
        "exportThread",
        () => this.script("wpExport", [keys.cps, keys.idx], [keys.pw]),
        undefined,
        () => `thread ${JSON.stringify(threadId)}, namespace ${JSON.stringify(namespace)}`,
      )) as [string, string, string, string, string[]][];
      for (const [id, header, delta, snapshot, pending] of rows) {
        checkpoints.push(decodeRecord(header, delta, snapshot, threadId, namespace, id));
        const where = () => recordLabel(threadId, namespace, id);
        pendingWrites.push(
          ...pending.map((text, index) => decodePendingRecord(text, where, index)),
        );
      }
    }
    return threadExport(threadId, checkpoints, pendingWrites);
  }

  async importThread(data: ThreadExport): Promise<void> {
    await this.write(validateThreadExport(data, this.serializer));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * Adds a thread to the thread index (before its first checkpoint: a crash
   * in between leaves an empty entry, never an unlisted thread), and with a
   * TTL schedules a sweep to look at it when it may have expired.
   */
  private index(threadId: string): Promise<unknown> {
    const indexed = this.redis.zadd(this.keys.threads(), 0, threadId);
    const [ttlMs] = this.ttl;
    if (ttlMs <= 0) return indexed;
    return Promise.all([
      indexed,
      this.redis.zadd(this.keys.expiring(), Date.now() + ttlMs, threadId),
    ]);
  }

  /** Writes a validated export as one script, unless the thread exists. */
  private async write(data: ThreadExport): Promise<void> {
    const threadId = data.threadId;
    const namespaces = [...new Set(data.checkpoints.map((c) => c.namespace))].map((namespace) => {
      const mine = data.checkpoints
        .filter((c) => c.namespace === namespace)
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      return {
        namespace,
        keys: this.keys.of(threadId, namespace),
        head: mine[mine.length - 1]!.id,
        checkpoints: mine.map((checkpoint) => [
          checkpoint.id,
          encodeRecordHeader(checkpoint),
          checkpoint.writes,
          checkpoint.snapshot ?? "",
        ]),
        pending: data.pendingWrites
          .filter((w) => w.namespace === namespace)
          .map((w) => [w.checkpointId, `${w.taskId}\u0000${w.idx}`, JSON.stringify(w)]),
      };
    });
    await this.run("importThread", () => this.index(threadId));
    const written = await this.run("importThread", () =>
      this.script(
        "wpImport",
        [this.keys.namespaces(threadId)],
        [JSON.stringify(namespaces), this.keys.tag(threadId), ...this.ttl],
      ),
    );
    if (written === 0) throw new ThreadExistsError(threadId);
  }

  private script(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const client = this.redis as unknown as ScriptClient;
    // A script defined without numberOfKeys takes its key count first.
    if (ALL_SCRIPTS[name].numberOfKeys === undefined)
      return client[name](keys.length, ...keys, ...args);
    return client[name](...keys, ...args);
  }

  /** The channels of a listed head's pending writes; one that cannot be read counts as an error. */
  private pendingChannels(threadId: string, headId: string, pending: string[]): string[] {
    return pending.map((text) => {
      try {
        return decodePendingRecord(text, () => recordLabel(threadId, "", headId)).channel;
      } catch (error) {
        if (!(error instanceof CorruptRecordError)) throw error;
        this.onCorrupt(error);
        return ERROR_CHANNEL;
      }
    });
  }

  /**
   * Runs a command, retrying a dropped connection, LOADING or READONLY, for at
   * most `timeoutMs` in all (then STORAGE_UNAVAILABLE). When a write may
   * already have run (the connection dropped after it was sent), `committed`
   * is asked first, so the write is never applied twice. Redis's out of memory
   * is STORAGE_UNAVAILABLE at once (nothing was written); a key of the wrong
   * type, CORRUPT_RECORD of what `where` names.
   */
  private async run<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
    where?: () => string,
  ): Promise<T> {
    if (this.closed) throw new CheckpointerClosedError("RedisCheckpointer");
    const deadline = Date.now() + this.timeoutMs;
    let unsure = false;
    for (let tries = 1; ; tries += 1) {
      try {
        if (unsure && committed !== undefined) {
          const done = await this.bounded(committed(), deadline);
          if (done !== undefined) return done;
        }
        // A first attempt on a connection with its own command timeout is bounded by it: no watchdog.
        return await (tries === 1 && this.firstAttemptBounded
          ? attempt()
          : this.bounded(attempt(), deadline));
      } catch (error) {
        if (!isRetryable(error)) throw typed(error, operation, where);
        const remaining = deadline - Date.now();
        if (tries >= this.attempts || remaining <= 0)
          throw new StorageUnavailableError("Redis", operation, tries, error);
        unsure = true;
        // The last try comes at the deadline, if the backoff would pass it.
        const delay = Math.min(2000, 50 * 2 ** (tries - 1), remaining);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * `reply`, or a retryable timeout error once `deadline` has passed (a reply
   * after that is dropped). One watchdog timer looks at every waiting reply
   * each WATCHDOG_MS, rather than a timer per command on the put path.
   */
  private bounded<T>(reply: Promise<T>, deadline: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { deadline, reject };
      this.waiting.add(waiting);
      this.watchdog ??= setInterval(() => this.expire(), WATCHDOG_MS).unref();
      reply.then(
        (value) => {
          this.waiting.delete(waiting);
          resolve(value);
        },
        (error: Error) => {
          this.waiting.delete(waiting);
          reject(error);
        },
      );
    });
  }

  /** Fails the replies waited for past their deadline; stops the watchdog when none is left. */
  private expire(): void {
    const now = Date.now();
    for (const waiting of this.waiting) {
      if (waiting.deadline > now) continue;
      this.waiting.delete(waiting);
      waiting.reject(new Error(`Command timed out: no reply within timeoutMs (${this.timeoutMs})`));
    }
    if (this.waiting.size === 0) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }
}

/** A reply waited for, and how to fail it at its deadline. */
interface Waiting {
  readonly deadline: number;
  readonly reject: (error: Error) => void;
}

/** How often the watchdog looks at waiting replies: the precision of `timeoutMs`. */
const WATCHDOG_MS = 100;

/** The command timeout a connection or cluster was made with, if any. */
function connectionCommandTimeout(redis: Redis | Cluster): number | undefined {
  const options = redis.isCluster
    ? (redis as Cluster).options.redisOptions
    : (redis as Redis).options;
  const timeout = options?.commandTimeout;
  return typeof timeout === "number" && timeout > 0 ? timeout : undefined;
}

/** A Redis error that is not retried, as a Waypoint error where one fits. */
function typed(error: unknown, operation: string, where: (() => string) | undefined): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (/^OOM\b/.test(message) || message.includes("command not allowed when used memory")) {
    const cause = new Error(
      `Redis is out of memory (maxmemory reached, policy noeviction): nothing was written. ${message}`,
      { cause: error },
    );
    return new StorageUnavailableError("Redis", operation, 1, cause);
  }
  if (where !== undefined && /^WRONGTYPE\b/.test(message))
    return new CorruptRecordError(where(), "a key holds the wrong type of value", error);
  return error;
}

function isRetryable(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  return (
    /^(LOADING|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b/.test(message) ||
    /Connection is closed|Reached the max retries per request|Stream isn't writeable|connect ECONNREFUSED|Command timed out/i.test(
      message,
    ) ||
    (typeof code === "string" &&
      ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"].includes(code))
  );
}

/** A pending-writes hash's fields and values: one field per (taskId, idx), which a later write replaces. */
function pendingFields(writes: readonly EncodedPendingWrite[]): string[] {
  return writes.flatMap((write) => [`${write.taskId}\u0000${write.idx}`, JSON.stringify(write)]);
}
