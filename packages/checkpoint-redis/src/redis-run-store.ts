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
  type RunWatch,
} from "@waypoint/checkpoint";
import {
  attemptsExhausted,
  checkClaim,
  checkCreateRequest,
  checkLeaseMs,
  checkRunId,
  decodeControl,
  RunWakes,
} from "@waypoint/checkpoint/backend";
import type { RedisAccess, Values } from "./internal/run-access.js";
import { pruneRuns } from "./internal/run-prune.js";
import { FORGET_MS, RunQueue, type Entry, type QueueOp } from "./internal/run-queue.js";
import { RunReader } from "./internal/run-reader.js";
import { RUN_FIELDS } from "./internal/run-records.js";
import { readRunQueue } from "./internal/run-waker.js";

/** A create whose queue entry is older than this (Redis time) starts over with a new entry. */
const FRESH_MS = 60_000;
/** Queue entries looked at per claim before giving up until the next poll. */
const CLAIM_STEPS = 20;

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
  private readonly queue: RunQueue;
  private readonly reader: RunReader;
  /** Woken by a blocking read of the queue stream (internal/run-waker.ts). */
  private readonly wakes: RunWakes;

  constructor(private readonly access: RedisAccess) {
    this.queue = new RunQueue(access);
    this.reader = new RunReader(access);
    this.wakes = new RunWakes(readRunQueue(access.redis, access.keys.queue()));
  }

  /** Wakes when an entry is added to the queue stream, by any process. */
  watch(): RunWatch {
    return this.wakes.watch();
  }

  /** Closes the watches and their connection (RedisCheckpointer.close). */
  closeWatches(): Promise<void> {
    return this.wakes.close();
  }

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
      const [entry] = await this.queue.apply([["add", id, threadId]]);
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
          const values = await this.reader.values(runKey);
          return values[0] === null ? undefined : ["ok", values, ""];
        },
      )) as [string, Values | string, string];
      if (reply[0] === "stale") continue;
      if (reply[0] === "busy") {
        await this.queue.apply([["forget", entry!, `${id}\u0000${threadId}`]]);
        throw new ThreadBusyError(threadId, reply[1] as string, reply[2]);
      }
      this.reader.remember(id, threadId);
      if (reply[2] !== "") await this.queue.apply([["add", reply[2], threadId]]);
      return this.reader.decode(reply[1] as Values, id);
    }
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    checkRunId(runId);
    const threadId = await this.reader.threadOf(runId);
    if (threadId === undefined) return undefined;
    const values = await this.reader.values(this.access.keys.run(threadId, runId));
    // Indexed but not stored: a create that has not finished, or never will.
    return values[0] === null ? undefined : this.reader.decode(values, runId);
  }

  list(options: ListRunsOptions = {}): Promise<readonly RunRecord[]> {
    return this.reader.list(options);
  }

  /** Deletes ended runs older than the cutoff, a batch at a time (internal/run-prune.ts). */
  prune(options: PruneRunsOptions): Promise<{ readonly deleted: number }> {
    return pruneRuns(this.access, this.reader, this.queue, options);
  }

  async claim(options: ClaimOptions): Promise<ClaimedRun | undefined> {
    checkClaim(options);
    const { workerId, leaseMs } = options;
    let settle: QueueOp[] = [];
    for (let step = 0; step < CLAIM_STEPS; step += 1) {
      const entry = await this.queue.deliver(workerId, settle);
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
          const run = this.reader.decode(reply[1] as Values, runId);
          this.reader.remember(runId, threadId);
          // Redelivered (to a worker that takes over) when the lease lapses, unless renewed. An
          // entry idles redeliverMs anyway before it is redelivered; a lease longer than that
          // needs no rescheduling (a worker that finds it early sees the lease and waits).
          if (leaseMs < this.access.redeliverMs) {
            await this.queue.apply([
              ["later", entryId, workerId, this.queue.deliveredAt(run.leaseExpiresAt!.getTime())],
            ]);
          }
          return { run, fence: { runId, token: run.token } };
        }
        case "later":
          settle.push(["later", entryId, workerId, this.queue.deliveredAt(Number(reply[1]))]);
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
    if (settle.length > 0) await this.queue.apply(settle);
    return undefined;
  }

  async heartbeat(fence: Fence, leaseMs: number): Promise<HeartbeatResult> {
    checkLeaseMs(leaseMs);
    const runKey = this.access.keys.run(await this.reader.threadOfFence(fence), fence.runId);
    const reply = (await this.access.run("runs.heartbeat", () =>
      this.access.script("wpRunHeartbeat", [runKey], [fence.token, leaseMs]),
    )) as [string, string, string, string, string];
    if (reply[0] === "lost") throw new LeaseLostError(fence.runId, fence.token, reply[1]);
    const [, lease, control, entry, worker] = reply;
    // The lease is the truth; this only keeps the entry from coming back to other workers before it lapses.
    await this.queue.apply([["later", entry, worker, this.queue.deliveredAt(Number(lease))]]);
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
    const threadId = await this.reader.threadOfFence(fence);
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
        const values = await this.reader.values(runKey);
        if (values[0] === null || !applied(this.reader.decode(values, fence.runId)))
          return undefined;
        return ["ok", values, "", ""];
      },
    )) as [string, Values | string, string, string];
    if (reply[0] === "lost") throw new LeaseLostError(fence.runId, fence.token, reply[1] as string);
    const run = this.reader.decode(reply[1] as Values, fence.runId);
    const [, , entry, next] = reply;
    const ops: QueueOp[] = [];
    if (entry !== "" && outcome !== "paused") ops.push(["ack", entry]);
    if (next !== "") ops.push(["add", next, threadId]);
    if (ops.length > 0) await this.queue.apply(ops);
    return run;
  }

  private async control(runId: string, action: "cancel" | "pause" | "resume"): Promise<RunRecord> {
    checkRunId(runId);
    const { keys } = this.access;
    const threadId = await this.reader.threadOf(runId);
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
            const values = await this.reader.values(runKey);
            if (values[0] === null) return undefined;
            const run = this.reader.decode(values, runId);
            const resumed =
              run.status === "pending" || (run.status === "running" && run.control !== "pause");
            return resumed ? ["ok", values, ""] : undefined;
          },
    )) as [string, Values | string, string];
    if (reply[0] === "missing") throw new RunNotFoundError(runId);
    if (reply[0] === "state") throw new RunStateError(runId, reply[1] as string, action);
    if (reply[2] !== "") await this.queue.apply([["add", reply[2], threadId]]);
    return this.reader.decode(reply[1] as Values, runId);
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
        const values = await this.reader.values(runKey);
        const at = (name: (typeof RUN_FIELDS)[number]) => values[RUN_FIELDS.indexOf(name)];
        const ours =
          at("status") === "running" && at("entry") === entryId && at("worker") === workerId;
        return ours ? ["taken", values] : undefined;
      },
    );
  }
}
