import { setTimeout as sleep } from "node:timers/promises";
import {
  ENDED_RUN_STATUSES,
  RunNotFoundError,
  type CheckpointHeader,
  type Checkpointer,
  type CreateRunRequest,
  type ListRunsOptions,
  type PruneRunsOptions,
  type RunRecord,
  type RunStatus,
  type RunStore,
} from "@waypoint/checkpoint";
import { RunWaitTimeoutError } from "../errors.js";
import { storedIdentity, type GraphVersion } from "../graph/graph-identity.js";
import { checkId, parseOptions } from "../internal/options.js";
import { encodeRunInput, runStoreOf, userRun, type RunnableGraph } from "./run-input.js";

/** Options of `createClient`: the store that holds the run queue, and the graphs it runs. */
export interface ClientOptions {
  readonly checkpointer: Checkpointer;
  /** Needed by `runs.stream` to rebuild each checkpoint's state. */
  readonly graphs?: Readonly<Record<string, RunnableGraph>>;
}

/**
 * Options of `runs.create`: the graph's name (as a worker knows it), what to do
 * when the thread already has an active run, the attempts allowed, and metadata.
 */
export type CreateRunOptions = Omit<CreateRunRequest, "threadId" | "input">;

/**
 * A run as `runs.get`, `runs.wait` and `runs.stream` show it: with the
 * version of its graph that wrote its latest checkpoint (null before it
 * wrote one). During a rolling deploy it tells which workers' version a run
 * is on.
 */
export type RunWithVersion = RunRecord & { readonly graphVersion: GraphVersion | null };

/** Options of `runs.wait`: how long to wait, and how often to poll the store. */
export interface WaitOptions {
  /** Give up after this long with a RunWaitTimeoutError (default: wait for ever). */
  readonly timeoutMs?: number;
  /** Default 100 ms. */
  readonly pollMs?: number;
}

/**
 * What `runs.stream` yields: "values" the state after each checkpoint of the
 * run, "checkpoints" their headers, "run" the run each time its status changes.
 */
export type RunStreamMode = "values" | "checkpoints" | "run";

/** Options of `runs.stream`: the modes to yield, and how often to poll the store. */
export interface RunStreamOptions<M extends RunStreamMode> {
  /** Default "values". */
  readonly streamMode?: M | readonly M[];
  /** Default 100 ms. */
  readonly pollMs?: number;
}

/** Events of `runs.stream`: each mode with its payload, as `[mode, payload]`. */
export type RunStreamEvent =
  | readonly ["values", Record<string, unknown>]
  | readonly ["checkpoints", CheckpointHeader]
  | readonly ["run", RunWithVersion];

/** Statuses after which a run changes no more by itself (a paused run waits for `resume`). */
const SETTLED: readonly RunStatus[] = [...ENDED_RUN_STATUSES, "paused"];

/**
 * Queues runs for workers and follows them, from any process that can reach
 * the store: `client.runs.create(threadId, input, { graph: "research" })`.
 */
export class Client {
  readonly runs: RunsClient;

  constructor(options: ClientOptions) {
    parseOptions("createClient", options);
    this.runs = new RunsClient(runStoreOf(options.checkpointer), options);
  }
}

/** Makes a Client over `options.checkpointer`'s run queue. */
export function createClient(options: ClientOptions): Client {
  return new Client(options);
}

/** `client.runs`: queues runs, reads them, controls them and follows them. */
export class RunsClient {
  constructor(
    private readonly store: RunStore,
    private readonly options: ClientOptions,
  ) {}

  /**
   * Queues a run of `options.graph` on the thread with `input` (a value, or a
   * `Command` to resume an interrupt); a worker claims it. What happens when
   * the thread has an active run follows `options.strategy` (default "enqueue").
   */
  async create(threadId: string, input: unknown, options: CreateRunOptions): Promise<RunRecord> {
    checkId(threadId, "runs.create", "threadId");
    parseOptions("runs.create", options);
    return userRun(await this.store.create({ ...options, threadId, input: encodeRunInput(input) }));
  }

  /** The run with its graph version, or undefined when there is no such run. */
  async get(runId: string): Promise<RunWithVersion | undefined> {
    checkId(runId, "runs.get", "runId");
    const run = await this.store.get(runId);
    return run && this.withVersion(userRun(run));
  }

  /** The graph version in the metadata of the run's latest checkpoint. */
  private async withVersion(run: RunRecord): Promise<RunWithVersion> {
    const store = this.options.graphs?.[run.graph]?.checkpointer ?? this.options.checkpointer;
    for await (const header of store.list(run.threadId, { filter: { runId: run.id }, limit: 1 })) {
      return { ...run, graphVersion: storedIdentity(header.metadata)?.version ?? null };
    }
    return { ...run, graphVersion: null };
  }

  /** Runs, newest first, filtered by `options`. */
  async list(options?: ListRunsOptions): Promise<readonly RunRecord[]> {
    if (options !== undefined) parseOptions("runs.list", options);
    return (await this.store.list(options)).map(userRun);
  }

  /**
   * Cancels a run: a pending or paused one at once, a running one through its
   * worker. An ended run is returned unchanged.
   */
  async cancel(runId: string): Promise<RunRecord> {
    checkId(runId, "runs.cancel", "runId");
    return userRun(await this.store.cancel(runId));
  }

  /** Pauses a run: a pending one at once, a running one at its next superstep boundary. */
  async pause(runId: string): Promise<RunRecord> {
    checkId(runId, "runs.pause", "runId");
    return userRun(await this.store.pause(runId));
  }

  /**
   * Queues a paused run again, or withdraws a pause not yet acted on; throws
   * RunStateError for a run in any other state.
   */
  async resume(runId: string): Promise<RunRecord> {
    checkId(runId, "runs.resume", "runId");
    return userRun(await this.store.resume(runId));
  }

  /**
   * Retention: deletes runs that ended before `endedBefore` (never a pending,
   * running or paused one) and returns how many. The threads' checkpoints
   * stay; prune those with the checkpointer's `prune`, `deleteThread` or TTL.
   */
  async prune(options: PruneRunsOptions): Promise<{ readonly deleted: number }> {
    parseOptions("runs.prune", options);
    return this.store.prune(options);
  }

  /** Resolves with the run once it has ended or paused. */
  async wait(runId: string, options: WaitOptions = {}): Promise<RunWithVersion> {
    checkId(runId, "runs.wait", "runId");
    parseOptions("runs.wait", options);
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const run = await this.require(runId);
      if (SETTLED.includes(run.status)) return run;
      if (Date.now() >= deadline) {
        throw new RunWaitTimeoutError(run.id, run.status, options.timeoutMs!);
      }
      await sleep(options.pollMs ?? 100);
    }
  }

  /**
   * Follows a run from any process: the state after each of its checkpoints
   * ("values"), the checkpoints' headers ("checkpoints") and the run's status
   * changes ("run"), until it ends or pauses. Built from what the store keeps,
   * so it works across processes; token streams ("messages", "custom") are only
   * seen in the worker's own process, through `graph.stream`.
   */
  async *stream<M extends RunStreamMode = "values">(
    runId: string,
    options: RunStreamOptions<M> = {},
  ): AsyncGenerator<RunStreamEvent> {
    checkId(runId, "runs.stream", "runId");
    parseOptions("runs.stream", options);
    const modes: readonly RunStreamMode[] =
      typeof options.streamMode === "string"
        ? [options.streamMode]
        : (options.streamMode ?? ["values"]);
    const seen = new Set<string>();
    let lastStatus: RunStatus | undefined;
    for (;;) {
      const run = await this.require(runId);
      if (modes.includes("run") && run.status !== lastStatus) yield ["run", run];
      lastStatus = run.status;
      const graph = this.options.graphs?.[run.graph];
      const store = graph?.checkpointer ?? this.options.checkpointer;
      const fresh: CheckpointHeader[] = [];
      for await (const header of store.list(run.threadId, { filter: { runId } })) {
        if (seen.has(header.id)) break;
        fresh.unshift(header);
      }
      for (const header of fresh) {
        seen.add(header.id);
        if (modes.includes("checkpoints")) yield ["checkpoints", header];
        if (modes.includes("values")) {
          if (graph === undefined)
            throw new TypeError(`runs.stream needs graph "${run.graph}" in the client's graphs`);
          const state = await graph.getState(run.threadId, { checkpointId: header.id });
          // A graph's state (an entrypoint's values are its result: whatever it returned).
          if (state !== undefined) yield ["values", state.values as Record<string, unknown>];
        }
      }
      if (SETTLED.includes(run.status) && fresh.length === 0) return;
      await sleep(options.pollMs ?? 100);
    }
  }

  private async require(runId: string): Promise<RunWithVersion> {
    const run = await this.get(runId);
    if (run === undefined) throw new RunNotFoundError(runId);
    return run;
  }
}
