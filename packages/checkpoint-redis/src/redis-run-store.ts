import type { Cluster, Redis } from "ioredis";
import {
  LeaseLostError,
  RunNotFoundError,
  RunStateError,
  ThreadBusyError,
  newCheckpointId,
  type ClaimOptions,
  type ClaimedRun,
  type CreateRunRequest,
  type Fence,
  type HeartbeatResult,
  type ListRunsOptions,
  type PruneRunsOptions,
  type RunOutcome,
  type RunRecord,
  type RunStore,
  type Serializer,
} from "@waypoint/checkpoint";
import {
  attemptsExhausted,
  checkClaim,
  checkCreateRequest,
  checkFence,
  checkLeaseMs,
  checkPruneRuns,
  checkRunId,
  resolveListRuns,
  decodeControl,
} from "@waypoint/checkpoint/backend";
import type { Keys } from "./internal/keys.js";
import { RUN_FIELDS, decodeRun } from "./internal/run-records.js";
import type { ScriptName } from "./internal/scripts.js";

/** What the run store borrows from its checkpointer: the connection, the keys and the retries. */
export interface RedisAccess {
  readonly redis: Redis | Cluster;
  readonly keys: Keys;
  readonly serializer: Serializer;
  /** XAUTOCLAIM's min idle time: an entry its consumer neither settled nor rescheduled comes back after this. */
  readonly redeliverMs: number;
  run<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T>;
  script(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
}

/** The consumer group every worker reads the queue stream with. */
const GROUP = "workers";
/** A create whose queue entry is older than this (Redis time) starts over with a new entry. */
const FRESH_MS = 60_000;
/** An entry whose run was never created is dropped once this old: far beyond FRESH_MS, for clock skew. */
const FORGET_MS = 10 * 60_000;
/**
 * A consumer (a worker's name in the group) with no pending entry, idle this many redeliverMs, is
 * deleted by a claim: workers that died leave none behind. A live one idle that long (its worker
 * full, not claiming) is made again by its next read.
 */
const TIDY_AFTER = 10;
/** Queue entries looked at per claim before giving up until the next poll. */
const CLAIM_STEPS = 20;
const PAGE = 200;
/**
 * How far ahead of Redis's clock (which stamps endedAt) the clock of a client
 * that made a run id may be, for prune's walk. A run from a client further
 * ahead is left to a later prune, whose cutoff has caught up with its id.
 */
const SKEW_MS = 60 * 60_000;

type QueueOp =
  | readonly ["add", runId: string, threadId: string]
  | readonly ["later", entry: string, consumer: string, deliveredAt: number]
  | readonly ["ack", entry: string]
  | readonly ["forget", entry: string, indexMember: string];

type Entry = readonly [id: string, runId: string, threadId: string];
type Values = (string | null)[];

/**
 * The run queue of RedisCheckpointer. A run's record, and which run holds
 * its thread, live in the thread's slot, where one Lua script decides each
 * change (the strategies, claims, leases, fences) atomically. Workers find
 * runs through a stream read by one consumer group: an entry says "this run
 * may be claimable"; a claim reads one (XAUTOCLAIM for entries whose consumer
 * let them idle, else XREADGROUP for new ones), asks the thread's script, and
 * settles the entry. The stream is a wake-up list, never the truth: an entry
 * stays pending (unacknowledged) while its run may still need a worker, so a
 * step lost between the two slots is repaired when the entry comes back.
 */
export class RedisRunStore implements RunStore {
  /** Where this process's XAUTOCLAIM scans resume, so a long pending list is covered in turns. */
  private cursor = "0-0";
  /** When this store last had a claim tidy the group's consumers (at most once per redeliverMs). */
  private tidied = 0;
  /** Run id → thread id, which never changes: saves the index lookup for a run's later calls. */
  private readonly threads = new Map<string, string>();

  constructor(private readonly access: RedisAccess) {}

  async create(request: CreateRunRequest): Promise<RunRecord> {
    const resolved = checkCreateRequest(request);
    const { serializer, keys } = this.access;
    const input = serializer.serialize(request.input, "run input", "input");
    const metadata = JSON.stringify(request.metadata ?? {});
    const { threadId } = resolved;
    const id = newCheckpointId();
    const runKey = keys.run(threadId, id);
    for (;;) {
      // The entry first: a crash before the record leaves an entry without a run, which claims
      // retry and then forget; the other order could leave a run no worker ever hears of.
      const [entry] = await this.queue([["add", id, threadId]]);
      const reply = (await this.access.run(
        "runs.create",
        () =>
          this.access.script(
            "wpRunCreate",
            [runKey, keys.activeRuns(threadId), keys.threadRuns(threadId)],
            [
              keys.tag(threadId),
              id,
              threadId,
              resolved.graph,
              input,
              resolved.strategy,
              resolved.maxAttempts,
              metadata,
              entry!,
              FRESH_MS,
            ],
          ),
        async () => {
          const values = await this.values(runKey);
          return values[0] === null ? undefined : ["ok", values, ""];
        },
      )) as [string, Values | string, string];
      if (reply[0] === "stale") continue;
      if (reply[0] === "busy") {
        await this.queue([["forget", entry!, `${id}\u0000${threadId}`]]);
        throw new ThreadBusyError(threadId, reply[1] as string, reply[2]);
      }
      this.threads.set(id, threadId);
      if (reply[2] !== "") await this.queue([["add", reply[2], threadId]]);
      return this.decode(reply[1] as Values, id);
    }
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    checkRunId(runId);
    const threadId = await this.threadOf(runId);
    if (threadId === undefined) return undefined;
    const values = await this.values(this.access.keys.run(threadId, runId));
    // Indexed but not stored: a create that has not finished, or never will.
    return values[0] === null ? undefined : this.decode(values, runId);
  }

  async list(options: ListRunsOptions = {}): Promise<readonly RunRecord[]> {
    const { threadId, statuses, limit, ...resolved } = resolveListRuns(options);
    const found: RunRecord[] = [];
    let before = resolved.before ?? "";
    while (found.length < limit) {
      const page =
        threadId === undefined
          ? await this.globalPage(before, statuses)
          : await this.threadPage(threadId, before, statuses);
      found.push(...page.runs.slice(0, limit - found.length));
      if (page.last === "") break;
      before = page.last;
    }
    return found;
  }

  /**
   * Walks the run index oldest first, a page of `batch` entries at a time,
   * up to the ids made by cutoff + SKEW_MS (an id starts with its creation
   * time, and a run ends after it is created): each page's runs are deleted
   * by one script per thread, which checks status and endedAt itself, then
   * their index entries. In that order: a crash in between leaves index
   * entries without a run, which readers skip and a later prune removes.
   */
  async prune(options: PruneRunsOptions): Promise<{ readonly deleted: number }> {
    const { cutoff, batch } = checkPruneRuns(options);
    const { keys, redis } = this.access;
    const max = idsBefore(cutoff + SKEW_MS);
    // An entry without a run whose id is this old is a leftover, not a create still under way.
    const leftoverBefore = Math.min(cutoff, Date.now()) - FORGET_MS;
    let deleted = 0;
    let after = "";
    for (;;) {
      const members = await this.access.run("runs.prune", () =>
        redis.zrangebylex(
          keys.runIndex(),
          after === "" ? "-" : `(${after}`,
          max,
          "LIMIT",
          0,
          batch,
        ),
      );
      const byThread = new Map<string, string[]>();
      for (const member of members) {
        const threadId = member.slice(member.indexOf("\u0000") + 1);
        const group = byThread.get(threadId);
        if (group === undefined) byThread.set(threadId, [member]);
        else group.push(member);
      }
      const done: string[] = [];
      const ops: QueueOp[] = [];
      await Promise.all(
        [...byThread].map(async ([threadId, group]) => {
          const runIds = group.map((member) => member.slice(0, member.indexOf("\u0000")));
          // Sent again after a dropped connection, runs the first send deleted come back as gone
          // (-1): not counted, and their entries are left to a later prune unless old enough now.
          const [codes, next] = (await this.access.run("runs.prune", () =>
            this.access.script(
              "wpRunPrune",
              [keys.threadRuns(threadId), keys.activeRuns(threadId)],
              [keys.tag(threadId), cutoff, ...runIds],
            ),
          )) as [number[], string];
          codes.forEach((code, index) => {
            if (code === 1) {
              deleted += 1;
              this.threads.delete(runIds[index]!);
            }
            if (code === 1 || (code === -1 && idTime(runIds[index]!) < leftoverBefore)) {
              done.push(group[index]!);
            }
          });
          if (next !== "") ops.push(["add", next, threadId]);
        }),
      );
      if (done.length > 0) {
        await this.access.run("runs.prune", () => redis.zrem(keys.runIndex(), ...done));
      }
      if (ops.length > 0) await this.queue(ops);
      if (members.length < batch) return { deleted };
      after = members[members.length - 1]!;
    }
  }

  async claim(options: ClaimOptions): Promise<ClaimedRun | undefined> {
    checkClaim(options);
    const { workerId, leaseMs } = options;
    let settle: QueueOp[] = [];
    for (let step = 0; step < CLAIM_STEPS; step += 1) {
      const entry = await this.deliver(workerId, settle);
      settle = [];
      if (entry === undefined) return undefined;
      const [entryId, runId, threadId] = entry;
      let reply = await this.claimScript(entry, workerId, leaseMs, "");
      if (reply[0] === "exhausted") {
        const error = attemptsExhausted(runId, Number(reply[1]));
        reply = await this.claimScript(entry, workerId, leaseMs, JSON.stringify(error));
      }
      switch (reply[0]) {
        case "taken": {
          const run = this.decode(reply[1] as Values, runId);
          this.threads.set(runId, threadId);
          // Redelivered (to a worker that takes over) when the lease lapses, unless renewed. An
          // entry idles redeliverMs anyway before it is redelivered; a lease longer than that
          // needs no rescheduling (a worker that finds it early sees the lease and waits).
          if (leaseMs < this.access.redeliverMs) {
            await this.queue([
              ["later", entryId, workerId, this.deliveredAt(run.leaseExpiresAt!.getTime())],
            ]);
          }
          return { run, fence: { runId, token: run.token } };
        }
        case "later":
          settle.push(["later", entryId, workerId, this.deliveredAt(Number(reply[1]))]);
          break;
        case "failed":
          settle.push(["ack", entryId]);
          if (reply[1] !== "") settle.push(["add", reply[1] as string, threadId]);
          break;
        case "drop":
          settle.push(["ack", entryId]);
          break;
        case "forget":
          settle.push(["forget", entryId, `${runId}\u0000${threadId}`]);
          break;
        // "wait": left pending; delivered again after redeliverMs, or sooner by an XADD when
        // the run that holds its thread ends, or when it is resumed.
      }
    }
    if (settle.length > 0) await this.queue(settle);
    return undefined;
  }

  async heartbeat(fence: Fence, leaseMs: number): Promise<HeartbeatResult> {
    checkLeaseMs(leaseMs);
    const runKey = this.access.keys.run(await this.threadOfFence(fence), fence.runId);
    const reply = (await this.access.run("runs.heartbeat", () =>
      this.access.script("wpRunHeartbeat", [runKey], [fence.token, leaseMs]),
    )) as [string, string, string, string, string];
    if (reply[0] === "lost") throw new LeaseLostError(fence.runId, fence.token, reply[1]);
    const [, lease, control, entry, worker] = reply;
    // The lease is the truth; this only keeps the entry from coming back to other workers before it lapses.
    await this.queue([["later", entry, worker, this.deliveredAt(Number(lease))]]);
    return {
      leaseExpiresAt: new Date(Number(lease)),
      control: decodeControl(control || null, `run ${fence.runId}`),
    };
  }

  async finish(fence: Fence, outcome: RunOutcome): Promise<RunRecord> {
    const error = outcome.status === "failed" ? JSON.stringify(outcome.error) : "";
    return this.settleClaim(fence, outcome.status, error, (run) => run.status === outcome.status);
  }

  async release(fence: Fence): Promise<RunRecord> {
    return this.settleClaim(
      fence,
      "release",
      "",
      (run) => run.status === "pending" && run.token === fence.token,
    );
  }

  cancel(runId: string): Promise<RunRecord> {
    return this.control(runId, "cancel");
  }

  pause(runId: string): Promise<RunRecord> {
    return this.control(runId, "pause");
  }

  resume(runId: string): Promise<RunRecord> {
    return this.control(runId, "resume");
  }

  /**
   * Ends, pauses or releases a claimed run in its thread's slot, then settles
   * the queue: the claim's entry is acknowledged once its run ended (a paused
   * run keeps it, so that its resume cannot be lost), a released run gets a
   * new entry, and so does the run that now holds the thread.
   */
  private async settleClaim(
    fence: Fence,
    outcome: RunOutcome["status"] | "release",
    error: string,
    applied: (run: RunRecord) => boolean,
  ): Promise<RunRecord> {
    const { keys } = this.access;
    const threadId = await this.threadOfFence(fence);
    const runKey = keys.run(threadId, fence.runId);
    const reply = (await this.access.run(
      "runs.finish",
      () =>
        this.access.script(
          "wpRunFinish",
          [runKey, keys.activeRuns(threadId)],
          [keys.tag(threadId), fence.runId, fence.token, outcome, error],
        ),
      // Sent again after a dropped connection: if the first send was applied, the fence is spent.
      async () => {
        const values = await this.values(runKey);
        if (values[0] === null || !applied(this.decode(values, fence.runId))) return undefined;
        return ["ok", values, "", ""];
      },
    )) as [string, Values | string, string, string];
    if (reply[0] === "lost") throw new LeaseLostError(fence.runId, fence.token, reply[1] as string);
    const run = this.decode(reply[1] as Values, fence.runId);
    const [, , entry, next] = reply;
    const ops: QueueOp[] = [];
    if (entry !== "" && outcome !== "paused") ops.push(["ack", entry]);
    if (next !== "") ops.push(["add", next, threadId]);
    if (ops.length > 0) await this.queue(ops);
    return run;
  }

  private async control(runId: string, action: "cancel" | "pause" | "resume"): Promise<RunRecord> {
    checkRunId(runId);
    const { keys } = this.access;
    const threadId = await this.threadOf(runId);
    if (threadId === undefined) throw new RunNotFoundError(runId);
    const runKey = keys.run(threadId, runId);
    const reply = (await this.access.run(
      `runs.${action}`,
      () =>
        this.access.script(
          "wpRunControl",
          [runKey, keys.activeRuns(threadId)],
          [keys.tag(threadId), runId, action],
        ),
      // Only a resume fails when applied twice; a run it already resumed is not paused any more.
      action !== "resume"
        ? undefined
        : async () => {
            const values = await this.values(runKey);
            if (values[0] === null) return undefined;
            const run = this.decode(values, runId);
            const resumed =
              run.status === "pending" || (run.status === "running" && run.control !== "pause");
            return resumed ? ["ok", values, ""] : undefined;
          },
    )) as [string, Values | string, string];
    if (reply[0] === "missing") throw new RunNotFoundError(runId);
    if (reply[0] === "state") throw new RunStateError(runId, reply[1] as string, action);
    if (reply[2] !== "") await this.queue([["add", reply[2], threadId]]);
    return this.decode(reply[1] as Values, runId);
  }

  private claimScript(
    [entryId, runId, threadId]: Entry,
    workerId: string,
    leaseMs: number,
    error: string,
  ): Promise<[string, (Values | string)?]> {
    const { keys } = this.access;
    const runKey = keys.run(threadId, runId);
    return this.access.run(
      "runs.claim",
      () =>
        this.access.script(
          "wpRunClaim",
          [runKey, keys.activeRuns(threadId)],
          [
            keys.tag(threadId),
            runId,
            entryId,
            workerId,
            leaseMs,
            this.access.redeliverMs,
            FORGET_MS,
            error,
          ],
        ) as Promise<[string, (Values | string)?]>,
      // A claim applied before its connection dropped: the run is ours through this entry.
      async () => {
        const values = await this.values(runKey);
        const at = (name: (typeof RUN_FIELDS)[number]) => values[RUN_FIELDS.indexOf(name)];
        const ours =
          at("status") === "running" && at("entry") === entryId && at("worker") === workerId;
        return ours ? ["taken", values] : undefined;
      },
    );
  }

  /** Settles entries, then delivers the next one to look at, if any. */
  private async deliver(workerId: string, settle: readonly QueueOp[]): Promise<Entry | undefined> {
    const now = Date.now();
    const tidy = now - this.tidied >= this.access.redeliverMs;
    if (tidy) this.tidied = now;
    const reply = (await this.runQueue(settle, workerId, this.cursor, tidy)) as [
      string[],
      string,
      Entry?,
    ];
    this.cursor = reply[1];
    return reply[2];
  }

  /** Settles entries; returns the ids of the entries added. */
  private async queue(ops: readonly QueueOp[]): Promise<string[]> {
    return ((await this.runQueue(ops, "", "")) as [string[]])[0];
  }

  private runQueue(
    ops: readonly QueueOp[],
    consumer: string,
    cursor: string,
    tidy = false,
  ): Promise<unknown> {
    const { keys, redeliverMs } = this.access;
    const args = ops.flatMap((op) => [op[0], op[1], op[2] ?? "", op[3] ?? ""]);
    // An XADD sent twice only queues a duplicate, which claims drop: safe to retry blindly.
    return this.access.run("runs.queue", () =>
      this.access.script(
        "wpQueue",
        [keys.queue(), keys.runIndex()],
        [GROUP, consumer, redeliverMs, cursor, tidy ? TIDY_AFTER * redeliverMs : "", ...args],
      ),
    );
  }

  /** XCLAIM's TIME for an entry that should be redelivered at `dueMs`. */
  private deliveredAt(dueMs: number): number {
    return Math.max(1, dueMs - this.access.redeliverMs);
  }

  private async threadPage(
    threadId: string,
    before: string,
    statuses: readonly string[] | undefined,
  ): Promise<{ runs: RunRecord[]; last: string }> {
    const { keys } = this.access;
    const [last, ...records] = (await this.access.run("runs.list", () =>
      this.access.script(
        "wpRunPage",
        [keys.threadRuns(threadId)],
        [keys.tag(threadId), before, PAGE, statuses?.join(" ") ?? ""],
      ),
    )) as [string, ...Values[]];
    return { runs: records.map((values) => this.decode(values, values[0] ?? "?")), last };
  }

  private async globalPage(
    before: string,
    statuses: readonly string[] | undefined,
  ): Promise<{ runs: RunRecord[]; last: string }> {
    const { keys, redis } = this.access;
    const members = await this.access.run("runs.list", () =>
      redis.zrevrangebylex(
        keys.runIndex(),
        before === "" ? "+" : `(${before}`,
        "-",
        "LIMIT",
        0,
        PAGE,
      ),
    );
    const pairs = members.map((member) => member.split("\u0000") as [string, string]);
    const stored = await Promise.all(
      pairs.map(([runId, threadId]) => this.values(keys.run(threadId, runId))),
    );
    const runs = stored.flatMap((values, index) => {
      // An indexed run without a record: its create has not finished (or never will).
      if (values[0] === null) return [];
      const run = this.decode(values, pairs[index]![0]);
      return statuses === undefined || statuses.includes(run.status) ? [run] : [];
    });
    return { runs, last: members.length < PAGE ? "" : pairs[pairs.length - 1]![0] };
  }

  private async threadOf(runId: string): Promise<string | undefined> {
    const known = this.threads.get(runId);
    if (known !== undefined) return known;
    const { keys, redis } = this.access;
    const [member] = await this.access.run("runs.get", () =>
      redis.zrangebylex(keys.runIndex(), `[${runId}\u0000`, `(${runId}\u0001`, "LIMIT", 0, 1),
    );
    if (member === undefined) return undefined;
    const threadId = member.slice(runId.length + 1);
    if (this.threads.size >= 10_000) this.threads.clear();
    this.threads.set(runId, threadId);
    return threadId;
  }

  private async threadOfFence(fence: Fence): Promise<string> {
    checkFence(fence);
    const threadId = await this.threadOf(fence.runId);
    if (threadId === undefined) {
      throw new LeaseLostError(fence.runId, fence.token, "there is no such run");
    }
    return threadId;
  }

  private values(runKey: string): Promise<Values> {
    return this.access.run("runs.get", () => this.access.redis.hmget(runKey, ...RUN_FIELDS));
  }

  private decode(values: readonly (string | null)[], runId: string): RunRecord {
    return decodeRun(values, runId, this.access.serializer);
  }
}

/** ZRANGEBYLEX's bound below every run index entry whose run id was made at or after `ms`. */
function idsBefore(ms: number): string {
  // Run ids are UUIDv7 (newCheckpointId): 12 hex digits of ms, a dash after the first 8.
  if (ms >= 2 ** 48) return "+";
  const hex = Math.max(0, ms).toString(16).padStart(12, "0");
  return `(${hex.slice(0, 8)}-${hex.slice(8)}`;
}

/** The ms a run id was made at (Infinity if it is not a UUIDv7). */
function idTime(runId: string): number {
  const time = /^([0-9a-f]{8})-([0-9a-f]{4})-/.exec(runId);
  return time === null ? Infinity : Number.parseInt(time[1]! + time[2]!, 16);
}
