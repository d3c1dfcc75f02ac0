import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  LeaseLostError,
  StorageUnavailableError,
  serializeError,
  type Checkpointer,
  type ClaimedRun,
  type Fence,
  type RunControl,
  type RunOutcome,
  type RunRecord,
  type RunStore,
  type RunWatch,
} from "@waypoint/checkpoint";
import { Command } from "../constants.js";
import { parseOptions } from "../internal/options.js";
import { decodeRunInput, runStoreOf, type RunnableGraph } from "./run-input.js";
import { storedIdentity, type GraphIdentity, type GraphVersion } from "../graph/graph-identity.js";
import { countClaim, countFailedRun, countLeaseRenewal } from "../telemetry/worker-metrics.js";

/** Options of a Worker: the graphs it runs, where runs are queued, and how it claims and leases them. */
export interface WorkerOptions {
  /** The graphs this worker runs, by the name runs are created with. */
  readonly graphs: Readonly<Record<string, RunnableGraph>>;
  /** Where runs are queued: the graphs' own checkpointer when omitted. */
  readonly checkpointer?: Checkpointer;
  /** Runs at once (default 4). */
  readonly concurrency?: number;
  /** How long a claim lasts without a heartbeat (default 30 s). A run whose worker died is taken over after this. */
  readonly leaseMs?: number;
  /** Default a third of `leaseMs`. */
  readonly heartbeatMs?: number;
  /**
   * How long to wait before asking again when the queue was empty (default
   * 200 ms). On a store that wakes its workers (`RunStore.watch`: memory,
   * PostgreSQL, Redis, and SQLite for runs created in the same process) a
   * new run is claimed at once and this is only the fallback: for lapsed
   * leases, and while the store's wake-up connection is down.
   */
  readonly pollMs?: number;
  /** Shown in `run.workerId` (default host:pid:random). */
  readonly workerId?: string;
  /** Errors the worker handled but someone should see (store outages, lost leases). */
  readonly onError?: (error: unknown, run?: RunRecord) => void;
  /** What the worker decided that someone may want to log (see WorkerEvent). */
  readonly onEvent?: (event: WorkerEvent) => void;
}

/**
 * - `run-left`: the run's thread was last written by a newer version of its
 *   graph than this worker's (a rolling deploy): the worker gave the run back
 *   for a newer worker to take, without writing anything.
 */
export interface WorkerEvent {
  readonly type: "run-left";
  readonly run: RunRecord;
  readonly reason: "newer-version";
  readonly threadVersion: GraphVersion;
  readonly workerVersion: GraphVersion | undefined;
}

/** Why a claimed run stopped before the graph did. */
type StopReason = RunControl | "drain" | "lost";

/**
 * Takes runs from the queue and runs them, `concurrency` at a time, each
 * under a lease it renews. Another worker takes over a run whose lease lapsed
 * and resumes it from its last checkpoint; the backend rejects the old
 * worker's writes by their fencing token. `drain()` stops claiming, lets each
 * running superstep finish and checkpoint, and gives the runs back.
 */
export class Worker {
  readonly id: string;
  private readonly store: RunStore;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly running = new Map<string, RunningRun>();
  private readonly draining = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: WorkerOptions) {
    parseOptions("Worker", options);
    const graphs = Object.values(options.graphs);
    const checkpointer = options.checkpointer ?? graphs[0]?.checkpointer;
    if (checkpointer === undefined) throw new TypeError("Worker needs at least one graph");
    for (const [name, graph] of Object.entries(options.graphs)) {
      if (graph.checkpointer !== checkpointer) {
        throw new TypeError(
          `Graph "${name}" was compiled with another checkpointer than the worker's; ` +
            `runs and checkpoints must live in the same store.`,
        );
      }
    }
    this.store = runStoreOf(checkpointer);
    this.concurrency = positive(options.concurrency ?? 4, "concurrency");
    this.leaseMs = positive(options.leaseMs ?? 30_000, "leaseMs");
    this.heartbeatMs = positive(
      options.heartbeatMs ?? Math.max(1, this.leaseMs / 3),
      "heartbeatMs",
    );
    this.pollMs = positive(options.pollMs ?? 200, "pollMs");
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  }

  /** Starts claiming runs. */
  start(): this {
    this.loop ??= this.claimLoop();
    return this;
  }

  /** Runs in progress. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Stops claiming; each running run stops after its current superstep's
   * checkpoint and goes back to the queue for another worker. Resolves when
   * every run has been handed back.
   */
  async drain(): Promise<void> {
    this.draining.abort();
    this.wake?.();
    for (const run of this.running.values()) run.stopFor("drain");
    await this.loop;
    await Promise.allSettled([...this.running.values()].map((run) => run.done));
  }

  /** Drains on these signals (default SIGTERM and SIGINT), then calls `then` (e.g. process.exit). */
  drainOn(
    signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"],
    then: () => void = () => undefined,
  ): this {
    const handler = () => {
      for (const signal of signals) process.off(signal, handler);
      void this.drain().then(then);
    };
    for (const signal of signals) process.on(signal, handler);
    return this;
  }

  private async claimLoop(): Promise<void> {
    // Made before the first claim, so that a run created during it wakes the wait after it.
    const watch = this.store.watch?.();
    try {
      await this.claimRuns(watch);
    } finally {
      watch?.close();
    }
  }

  private async claimRuns(watch: RunWatch | undefined): Promise<void> {
    while (!this.draining.signal.aborted) {
      if (this.running.size >= this.concurrency) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      let claimed: ClaimedRun | undefined;
      try {
        claimed = await this.store.claim({ workerId: this.id, leaseMs: this.leaseMs });
      } catch (error) {
        this.options.onError?.(error);
      }
      if (claimed === undefined) {
        if (watch !== undefined) await watch.wait(this.pollMs, this.draining.signal);
        else {
          await sleep(this.pollMs, undefined, { signal: this.draining.signal }).catch(
            () => undefined,
          );
        }
        continue;
      }
      if (this.draining.signal.aborted) {
        await this.store.release(claimed.fence).catch((error) => this.options.onError?.(error));
        break;
      }
      countClaim(claimed.run);
      const run = new RunningRun(claimed, this.store, this.options, this.leaseMs, this.heartbeatMs);
      this.running.set(claimed.run.id, run);
      void run.done.finally(() => {
        this.running.delete(claimed.run.id);
        this.wake?.();
      });
      // A run left for a newer worker goes back to the queue's front: give the newer workers time to take it.
      if (await run.leftForNewer) {
        await sleep(this.pollMs, undefined, { signal: this.draining.signal }).catch(
          () => undefined,
        );
      }
    }
  }
}

/** One claimed run on this worker: its lease, its control requests, its outcome. */
class RunningRun {
  readonly done: Promise<void>;
  /** Resolves once the run started (false) or was given back for a newer version's worker (true). */
  readonly leftForNewer: Promise<boolean>;
  private decided!: (left: boolean) => void;
  private readonly cancel = new AbortController();
  private readonly stop = new AbortController();
  private reason: StopReason | undefined;
  private readonly fence: Fence;
  private readonly beat: NodeJS.Timeout;
  /** Finished or handed back: a heartbeat still in flight has nothing to say. */
  private settled = false;

  constructor(
    private readonly claimed: ClaimedRun,
    private readonly store: RunStore,
    private readonly options: WorkerOptions,
    private readonly leaseMs: number,
    heartbeatMs: number,
  ) {
    this.fence = { ...claimed.fence, onControl: (control) => this.stopFor(control) };
    this.leftForNewer = new Promise((resolve) => (this.decided = resolve));
    this.beat = setInterval(() => void this.heartbeat(), heartbeatMs);
    this.done = this.execute()
      // Whatever went wrong after the graph (the store down while ending the run):
      // the lease lapses and another claim finishes the job.
      .catch((error: unknown) => this.options.onError?.(error, claimed.run))
      .finally(() => {
        clearInterval(this.beat);
        this.decided(false);
      });
  }

  /** The first reason wins, except that a cancel always aborts the nodes. */
  stopFor(reason: StopReason): void {
    if (reason === "cancel" || reason === "lost") this.cancel.abort(new RunStoppedError(reason));
    if (this.reason !== undefined && reason !== "cancel") return;
    this.reason = reason;
    this.stop.abort();
  }

  private async heartbeat(): Promise<void> {
    try {
      const beat = await this.store.heartbeat(this.fence, this.leaseMs);
      countLeaseRenewal(this.claimed.run);
      if (beat.control !== null) this.stopFor(beat.control);
    } catch (error) {
      if (this.settled) return;
      if (error instanceof LeaseLostError) this.stopFor("lost");
      this.options.onError?.(error, this.claimed.run);
    }
  }

  private async execute(): Promise<void> {
    const run = this.claimed.run;
    const graph = this.options.graphs[run.graph];
    if (graph === undefined) {
      await this.end({
        status: "failed",
        error: {
          name: "GraphNotFoundError",
          code: "GRAPH_NOT_FOUND",
          message: `Run ${run.id} asks for graph "${run.graph}", which this worker does not have.`,
          data: { graph: run.graph },
        },
      });
      return;
    }
    let result: unknown;
    try {
      // A run taken over after a crash already applied its input if the head is its own.
      const { owner: head, identity } = await headOwner(graph.checkpointer, run);
      // Only the same graph's versions compare: another graph written on the thread is not "newer".
      const version = identity?.name === graph.identity?.name ? identity?.version : undefined;
      if (version !== undefined && graph.isNewerVersion?.(version) === true) {
        // A rolling deploy: a newer version wrote this thread. Leave it to a worker of that version.
        this.settle();
        await this.store.release(this.fence);
        this.decided(true);
        this.options.onEvent?.({
          type: "run-left",
          run,
          reason: "newer-version",
          threadVersion: version,
          workerVersion: graph.identity?.version,
        });
        return;
      }
      this.decided(false);
      const input = head === "this run" ? null : decodeRunInput(run.input);
      result = await graph.invoke(input, {
        threadId: run.threadId,
        fence: this.fence,
        signal: this.cancel.signal,
        stop: this.stop.signal,
        metadata: { runId: run.id },
        // Seen empty: the run starts without reading the thread again.
        newThread: head === "none" && input !== null && !(input instanceof Command),
      });
    } catch (error) {
      if (this.reason === "lost" || error instanceof LeaseLostError) return this.lost(error);
      if (this.reason === "cancel") return this.end({ status: "cancelled" });
      if (error instanceof StorageUnavailableError) {
        // The store is down: leave the lease to lapse; another claim resumes the run later.
        this.options.onError?.(error, run);
        return;
      }
      return this.end({ status: "failed", error: serializeError(error) });
    }
    const interrupts = (result as { __interrupt__?: readonly unknown[] }).__interrupt__;
    if (this.reason === "lost") return this.lost();
    if (this.reason === "cancel") return this.end({ status: "cancelled" });
    if (interrupts !== undefined && interrupts.length > 0)
      return this.end({ status: "interrupted" });
    if (this.reason === undefined) return this.end({ status: "succeeded" });
    // Stopped at a boundary: unless the graph happened to finish there.
    const state = await graph.getState(run.threadId);
    if (state === undefined || state.next.length === 0) return this.end({ status: "succeeded" });
    switch (this.reason) {
      case "drain":
        this.settle();
        await this.store.release(this.fence).catch((error) => this.options.onError?.(error, run));
        return;
      case "pause":
        return this.end({ status: "paused" });
      case "interrupt":
        return this.end({ status: "interrupted" });
      case "rollback":
        await rollBack(graph, run);
        return this.end({ status: "cancelled" });
    }
  }

  private async end(outcome: RunOutcome): Promise<void> {
    this.settle();
    if (outcome.status === "failed") countFailedRun(this.claimed.run);
    try {
      await this.store.finish(this.fence, outcome);
    } catch (error) {
      this.options.onError?.(error, this.claimed.run);
    }
  }

  /** A heartbeat after the run ended or was handed back would only report LEASE_LOST. */
  private settle(): void {
    this.settled = true;
    clearInterval(this.beat);
  }

  private lost(error?: unknown): void {
    this.options.onError?.(
      error ??
        new LeaseLostError(this.fence.runId, this.fence.token, "another worker took the run"),
      this.claimed.run,
    );
  }
}

/** The reason passed to the nodes' AbortSignal when a run is cancelled or its lease is lost. */
export class RunStoppedError extends Error {
  constructor(readonly reason: "cancel" | "lost") {
    super(reason === "cancel" ? "The run was cancelled." : "The worker lost the run's lease.");
    this.name = "RunStoppedError";
  }
}

/**
 * Whose checkpoint the thread's head is: this run's means it applied its
 * input already, since nothing else writes the thread while the run holds it.
 */
async function headOwner(
  checkpointer: Checkpointer,
  run: RunRecord,
): Promise<{ owner: "none" | "this run" | "another"; identity?: GraphIdentity }> {
  for await (const head of checkpointer.list(run.threadId, { limit: 1 })) {
    const identity = storedIdentity(head.metadata);
    return {
      owner: head.metadata.runId === run.id ? "this run" : "another",
      ...(identity !== undefined ? { identity } : {}),
    };
  }
  return { owner: "none" };
}

/** Undoes a run: the thread's head goes back to where the run started. */
async function rollBack(graph: RunnableGraph, run: RunRecord): Promise<void> {
  let first: string | null | undefined;
  for await (const header of graph.checkpointer.list(run.threadId, { filter: { runId: run.id } })) {
    first = header.parentId;
  }
  if (first === undefined) return;
  if (first === null) await graph.checkpointer.deleteThread(run.threadId);
  else await graph.updateState(run.threadId, null as never, { checkpointId: first });
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Worker option ${name} must be a positive number, got ${value}`);
  }
  return value;
}
