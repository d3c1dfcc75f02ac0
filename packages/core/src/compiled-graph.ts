import { randomUUID } from "node:crypto";
import {
  CheckpointConflictError,
  ThreadExistsError,
  ThreadNotFoundError,
  MemoryCheckpointer,
  type PendingWrite,
  type Checkpointer,
  type Fence,
  type JsonValue,
  type SerializedError,
} from "@waypoint/checkpoint";
import { Command, EFFECT_CHANNEL, EFFECT_RETRY_CHANNEL } from "./constants.js";
import type { ClearedEffect, EffectRecord } from "./pregel/task-journal.js";
import { drawMermaid } from "./graph/mermaid.js";
import { graphDrawing, type GraphDrawing } from "./graph/graph-drawing.js";
import { isNewerVersion, type GraphIdentity, type GraphVersion } from "./graph/graph-identity.js";
import type { GraphSpec, NodeFunction } from "./graph/graph-spec.js";
import { snapshotAt, stateHistory } from "./pregel/state-reads.js";
import { invokeNested, runSubgraph } from "./pregel/subgraph.js";
import { CheckpointerRequiredError } from "./errors.js";
import { RunTelemetry } from "./telemetry/run-telemetry.js";
import { attemptOutcome } from "./telemetry/attempt-outcome.js";
import { currentTaskScope } from "./pregel/task-scope.js";
import type { CompileOptions } from "./graph/compile-options.js";
import { AsyncQueue } from "./internal/async-queue.js";
import { fenced } from "./internal/fenced.js";
import { WarmRuns } from "./internal/warm-runs.js";
import { checkId, checkRunArguments, parseOptions } from "./internal/options.js";
import type { Interrupt } from "./pregel/graph-interrupt.js";
import {
  RunLoop,
  addSerializerPlugins,
  type Durability,
  type RunOptions,
  type StateUpdate,
} from "./pregel/run-loop.js";
import { streamShape, type StreamEvent, type StreamMode } from "./pregel/stream-events.js";
import type { StateDefinition, StateOf, UpdateOf } from "./state.js";
import type { StateSnapshot } from "./state-snapshot.js";
import { specAt, withSubgraphStates } from "./subgraph-state.js";

/** Options of `invoke` and `resume`: the thread, where to start from, limits, and how to stop a run. */
export interface InvokeOptions {
  /** The thread to run on. Optional only for a graph compiled without a checkpointer. */
  readonly threadId?: string;
  /** Time travel: run from this older checkpoint; the result is a new branch. */
  readonly checkpointId?: string;
  /** Supersteps a run may take after its input (default 25). */
  readonly recursionLimit?: number;
  /** When each superstep's checkpoint is written (default "sync": before the next superstep starts). */
  readonly durability?: Durability;
  /** Aborts the nodes' signals and stops at the next superstep boundary. */
  readonly signal?: AbortSignal;
  /**
   * Stops at the next superstep boundary, after its checkpoint, without
   * aborting the nodes that are running (how a worker pauses or drains a run).
   */
  readonly stop?: AbortSignal;
  /** Added to the metadata of every checkpoint this invocation writes (a worker adds `runId`). */
  readonly metadata?: Readonly<Record<string, JsonValue>>;
  /** A claimed run's lease: every write of this invocation is fenced by it. */
  readonly fence?: Fence;
  /**
   * The thread must not exist yet (a thread made for this run, say one per
   * job): the run starts without reading it, which saves a round trip, and
   * fails with ThreadExistsError, writing nothing, if the thread already has
   * checkpoints. Like starting a Temporal workflow whose id must be new.
   */
  readonly newThread?: boolean;
}

/** Options of `stream`: those of `invoke`, plus which events to yield. */
export interface StreamOptions<M extends StreamMode | readonly StreamMode[]> extends InvokeOptions {
  /** One mode yields its payloads; a list yields [mode, payload] pairs. Default "values". */
  readonly streamMode?: M;
  /**
   * Also yield subgraphs' events. Each item then starts with its namespace
   * (a list of "node:taskId" levels, [] for the root graph).
   */
  readonly subgraphs?: boolean;
}

/**
 * What `invoke` returns: the graph's state at the end of the run. When the run
 * stopped at interrupts, `__interrupt__` lists them.
 */
export type InvokeResult<D extends StateDefinition> = StateOf<D> & {
  __interrupt__?: readonly Interrupt[];
};

/** An effect whose recorded TerminalError `retryFailedEffects` cleared. */
export interface RetriedEffect {
  readonly taskId: string;
  readonly node: string;
  readonly name: string;
  /** Its position among the task's effects (0 for the first). */
  readonly index: number;
  /** For a call made inside a recorded call (a task's effect): that call's path, as in EffectRecord. */
  readonly scope?: string;
  /** How many times it was cleared so far (part of its next idempotency key). */
  readonly retries: number;
  /** The failure it had recorded. */
  readonly error?: SerializedError;
}

export type { PendingToolCall, StateSnapshot, StateTask } from "./state-snapshot.js";

const DEFAULT_RECURSION_LIMIT = 25;
/** What `invoke` streams: nothing, so no event is built. */
const NO_MODES: ReadonlySet<StreamMode> = new Set();
const ignore = () => undefined;

/** A graph ready to run: `invoke`, `stream`, and the state APIs. */
export class CompiledGraph<D extends StateDefinition> {
  /** Where this graph keeps its threads (a MemoryCheckpointer when compiled without one). */
  readonly checkpointer: Checkpointer;
  private readonly ephemeral: boolean;
  /** Finished runs by thread, for the next input on the same thread (sync durability only). */
  private readonly warm = new WarmRuns(256);
  /** The static interrupts as sets, made once and shared by every run (which only reads them). */
  private readonly interruptBefore: ReadonlySet<string>;
  private readonly interruptAfter: ReadonlySet<string>;

  /**
   * Made by `StateGraph.compile()`.
   * @internal
   */
  constructor(
    /**
     * The compiled shape the runtime plans from.
     * @internal
     */
    readonly spec: GraphSpec,
    private readonly options: CompileOptions,
  ) {
    this.ephemeral = options.checkpointer === undefined;
    this.checkpointer = options.checkpointer ?? new MemoryCheckpointer();
    // Reads (getState, history) decode the channels' values too, before any run opens the thread.
    addSerializerPlugins(spec, this.checkpointer);
    // "*" is every node, as in LangGraph.
    const every = (list: readonly string[] | "*" | undefined) =>
      new Set(list === "*" ? spec.nodes.keys() : (list ?? []));
    this.interruptBefore = every(options.interruptBefore);
    this.interruptAfter = every(options.interruptAfter);
  }

  /** The name, version and fingerprint every checkpoint of this graph records (`metadata.graph`). */
  get identity(): GraphIdentity {
    return this.spec.deploy.identity;
  }

  /**
   * Whether a thread written by `version` was written by a newer version of
   * this graph: a higher integer, or a version this graph's migrations do
   * not know. A Worker leaves such a thread's runs to a newer worker.
   */
  isNewerVersion(version: GraphVersion): boolean {
    return isNewerVersion(version, this.spec.deploy);
  }

  /** Runs until the graph finishes or interrupts; returns the final state. */
  async invoke(
    input: UpdateOf<D> | Command | null,
    options: InvokeOptions = {},
  ): Promise<InvokeResult<D>> {
    parseOptions("invoke", options);
    checkRunArguments("invoke", input, options, !this.ephemeral);
    const result = await this.start(input, options, ignore, NO_MODES);
    const values = result.values as InvokeResult<D>;
    return result.interrupts.length > 0 ? { ...values, __interrupt__: result.interrupts } : values;
  }

  /** Continues a thread from its last checkpoint (same as `invoke(null, { threadId })`). */
  resume(
    threadId: string,
    options: Omit<InvokeOptions, "threadId"> = {},
  ): Promise<InvokeResult<D>> {
    return this.invoke(null, { ...options, threadId });
  }

  /** Runs like `invoke`, yielding events of the chosen modes as they happen. */
  async *stream<M extends StreamMode | readonly StreamMode[] = "values">(
    input: UpdateOf<D> | Command | null,
    options: StreamOptions<M> = {},
  ): AsyncGenerator<M extends readonly StreamMode[] ? [StreamMode, unknown] : unknown> {
    parseOptions("stream", options);
    const shape = streamShape(options);
    for await (const event of this.events(input, options, shape.modes))
      yield shape.item(event) as never;
  }

  /**
   * The run's events of `modes` (the subgraphs' too when `options.subgraphs`),
   * as they happen, unshaped: what `stream` yields, and what an entrypoint
   * maps before it shapes them. The caller has parsed `options`.
   * @internal
   */
  async *events(
    input: unknown,
    options: StreamOptions<StreamMode | readonly StreamMode[]>,
    modes: readonly StreamMode[],
  ): AsyncGenerator<StreamEvent> {
    checkRunArguments("stream", input, options, !this.ephemeral);
    const queue = new AsyncQueue<StreamEvent>();
    const controller = new AbortController();
    options.signal?.addEventListener("abort", () => controller.abort(options.signal?.reason), {
      once: true,
    });
    const running = this.start(
      input,
      { ...options, signal: controller.signal },
      (event) => queue.push(event),
      new Set(modes),
    );
    const finished = running.finally(() => queue.close());
    finished.catch(() => undefined); // observed below
    try {
      for await (const event of queue) {
        if (!modes.includes(event.mode)) continue;
        if (event.namespace !== undefined && options.subgraphs !== true) continue;
        yield event;
      }
      await finished;
    } finally {
      controller.abort(); // a consumer that stops early stops the run
      await finished.catch(() => undefined);
    }
  }

  /**
   * A thread's state at its head or at `checkpointId`. `subgraphs: true`
   * adds, to each task of a subgraph node, the subgraph's own snapshot and
   * namespace; `namespace` reads a subgraph's state itself.
   */
  async getState(
    threadId: string,
    options: { checkpointId?: string; subgraphs?: boolean; namespace?: string } = {},
  ): Promise<StateSnapshot<D> | undefined> {
    checkId(threadId, "getState", "threadId");
    parseOptions("getState", options);
    const namespace = options.namespace ?? "";
    const spec = specAt(this.spec, namespace);
    const snapshot = await snapshotAt<D>(
      this.checkpointer,
      spec,
      threadId,
      namespace,
      options.checkpointId,
    );
    return snapshot !== undefined && options.subgraphs === true
      ? withSubgraphStates(spec, this.checkpointer, threadId, namespace, snapshot)
      : snapshot;
  }

  /** Every checkpoint of a thread, newest first, with its state. */
  async *getStateHistory(
    threadId: string,
    options: {
      limit?: number;
      before?: string;
      filter?: Readonly<Record<string, JsonValue>>;
      /** A subgraph's namespace (a task's `namespace` from getState with subgraphs): its own history. */
      namespace?: string;
    } = {},
  ): AsyncGenerator<StateSnapshot<D>> {
    checkId(threadId, "getStateHistory", "threadId");
    parseOptions("getStateHistory", options);
    const namespace = options.namespace ?? "";
    const spec = specAt(this.spec, namespace);
    yield* stateHistory<D>(this.checkpointer, spec, threadId, { ...options, namespace });
  }

  /**
   * Edits a thread's state. Without `asNode`, a plain edit: the tasks
   * already planned stay planned, with their finished work, recorded effects
   * and pending interrupts. With `asNode`, as if that node had returned
   * `values`: its edges decide what runs next (START: START's edges; END:
   * nothing; `COPY` with `values` null: a fork of the checkpoint). `values`
   * may be null. From an older `checkpointId`, the edit starts a new branch.
   * On a thread that never ran, it creates the thread. Returns the new
   * checkpoint's id.
   */
  async updateState(
    threadId: string,
    values: UpdateOf<D> | null,
    options: { asNode?: string; checkpointId?: string } = {},
  ): Promise<string> {
    checkId(threadId, "updateState", "threadId");
    parseOptions("updateState", options);
    return this.bulkUpdateState(
      threadId,
      [
        {
          updates: [
            { values, ...(options.asNode !== undefined ? { asNode: options.asNode } : {}) },
          ],
        },
      ],
      options.checkpointId !== undefined ? { checkpointId: options.checkpointId } : {},
    );
  }

  /**
   * Several edits, LangGraph's `bulkUpdateState`: each item of `supersteps`
   * is one new checkpoint, in which all its updates apply at once (as
   * parallel tasks' writes do); with several updates, each needs `asNode`.
   * Returns the last checkpoint's id.
   */
  async bulkUpdateState(
    threadId: string,
    supersteps: readonly { readonly updates: readonly StateUpdate[] }[],
    options: { checkpointId?: string } = {},
  ): Promise<string> {
    checkId(threadId, "bulkUpdateState", "threadId");
    parseOptions("supersteps", supersteps, "bulkUpdateState");
    parseOptions("bulkUpdateState", options);
    const loop = await RunLoop.open(
      this.spec,
      this.checkpointer,
      this.runOptions({ threadId, ...options }, ignore),
    );
    let id = "";
    for (const superstep of supersteps) id = await loop.update(superstep.updates);
    // This process's finished run of the thread is stale now.
    this.warm.take(threadId);
    return id;
  }

  /**
   * Clears the recorded TerminalError of each failed effect at the head, so
   * that the next `invoke(null)` calls it again, under a new idempotency key
   * (the outside system must not answer it from the failed call's cache).
   * Returns what was cleared. Everything else recorded still replays.
   */
  async retryFailedEffects(
    threadId: string,
    options: { taskId?: string } = {},
  ): Promise<RetriedEffect[]> {
    checkId(threadId, "retryFailedEffects", "threadId");
    parseOptions("retryFailedEffects", options);
    const loaded = await this.checkpointer.get(threadId);
    if (loaded === undefined) throw new ThreadNotFoundError(threadId);
    const nodes = new Map(loaded.checkpoint.next.map((task) => [task.id, task.node]));
    const failed = loaded.pendingWrites.filter(
      (write) =>
        write.channel === EFFECT_CHANNEL &&
        !(write.value as EffectRecord).ok &&
        nodes.has(write.taskId) &&
        (options.taskId === undefined || write.taskId === options.taskId),
    );
    const cleared: PendingWrite[] = failed.map((write) => {
      const record = write.value as EffectRecord;
      const retry: ClearedEffect = {
        name: record.name,
        index: record.index,
        ...(record.scope !== undefined ? { scope: record.scope } : {}),
        retries: (record.retries ?? 0) + 1,
        ...(record.error ? { error: record.error } : {}),
      };
      return { ...write, channel: EFFECT_RETRY_CHANNEL, value: retry };
    });
    if (cleared.length > 0) {
      await this.checkpointer.putPendingWrites(
        { threadId, checkpointId: loaded.checkpoint.id },
        cleared,
      );
    }
    this.warm.take(threadId);
    return cleared.map((write) => {
      const retry = write.value as ClearedEffect;
      return {
        taskId: write.taskId,
        node: nodes.get(write.taskId)!,
        name: retry.name,
        index: retry.index,
        ...(retry.scope !== undefined ? { scope: retry.scope } : {}),
        retries: retry.retries,
        ...(retry.error ? { error: retry.error } : {}),
      };
    });
  }

  /** This graph as a node of a parent graph; `addNode(name, compiled)` calls it. */
  asNode(): NodeFunction<never, unknown> {
    const statics = this.statics();
    return (state, context) => runSubgraph(this.spec, statics, state, context);
  }

  private statics() {
    return { interruptBefore: this.interruptBefore, interruptAfter: this.interruptAfter };
  }

  /** The graph as a Mermaid `flowchart TD`, the same text for the same graph. */
  drawMermaid(): string {
    return drawMermaid(this.spec.shape);
  }

  /** The graph's nodes and edges (LangGraph's `getGraph()`, without its drawing methods). */
  getGraph(): GraphDrawing {
    return graphDrawing(this.spec.shape);
  }

  private async start(
    input: unknown,
    options: InvokeOptions,
    emit: (event: StreamEvent) => void,
    modes: ReadonlySet<StreamMode>,
  ): Promise<{ values: Record<string, unknown>; interrupts: readonly Interrupt[] }> {
    const scope = this.ephemeral && options.threadId === undefined ? currentTaskScope() : undefined;
    if (scope !== undefined) {
      // Called from inside a running node (`await sub.invoke(state)`): a subgraph of that node.
      return invokeNested(this.spec, this.statics(), input, scope, { emit, modes });
    }
    if (
      this.ephemeral &&
      options.threadId === undefined &&
      (input === null || input instanceof Command)
    )
      throw new CheckpointerRequiredError(
        input === null
          ? "invoke(null) (continuing a thread)"
          : "invoke(Command) (resuming a thread)",
      );
    const runOptions = this.runOptions(options, emit, modes);
    const telemetry = RunTelemetry.begin(
      {
        graph: this.spec.deploy.identity,
        threadId: runOptions.threadId,
        runId: typeof options.metadata?.runId === "string" ? options.metadata.runId : undefined,
        resumed: input === null || input === undefined || input instanceof Command,
        checkpointer: this.checkpointer,
      },
      attemptOutcome,
    );
    if (telemetry === undefined) return this.startRun(input, options, runOptions);
    // Every checkpoint of the run carries its trace context: a resume elsewhere links to it.
    const traced = {
      ...runOptions,
      telemetry,
      metadata: telemetry.metadataWith(runOptions.metadata),
    };
    return telemetry.run(() => this.startRun(input, options, traced));
  }

  /** `start` once its options are made (and, with an OpenTelemetry SDK, inside the run's span). */
  private async startRun(
    input: unknown,
    options: InvokeOptions,
    runOptions: RunOptions,
  ): Promise<{ values: Record<string, unknown>; interrupts: readonly Interrupt[] }> {
    if (options.newThread === true) return this.startNew(input, options, runOptions);
    // A new input on a thread this process just ran can start from the state
    // the last run ended with, instead of reloading and replaying it.
    const reusable =
      options.fence === undefined &&
      input !== null &&
      !(input instanceof Command) &&
      options.checkpointId === undefined &&
      runOptions.durability === "sync";
    const warm = reusable ? this.warm.take(runOptions.threadId) : undefined;
    if (warm !== undefined) {
      try {
        return await this.finish(warm.reuse(runOptions), input, reusable);
      } catch (error) {
        // Another writer moved the thread: nothing ran yet, so reload and start again.
        if (!(error instanceof CheckpointConflictError) || warm.savedInput) throw error;
      }
    }
    const loop = await RunLoop.open(this.spec, this.storeFor(options), runOptions);
    return this.finish(loop, input, reusable);
  }

  private async startNew(input: unknown, options: InvokeOptions, runOptions: RunOptions) {
    const threadId = runOptions.threadId;
    if (input === null || input === undefined || input instanceof Command) {
      throw new TypeError(
        "newThread: true needs an input value (a new thread has nothing to resume)",
      );
    }
    if (options.checkpointId !== undefined) {
      throw new TypeError("newThread: true cannot be combined with checkpointId");
    }
    // Whatever this process last ran on the thread is stale now (it may have been deleted since).
    this.warm.take(threadId);
    const loop = RunLoop.fresh(this.spec, this.storeFor(options), runOptions);
    try {
      return await this.finish(
        loop,
        input,
        options.fence === undefined && runOptions.durability === "sync",
      );
    } catch (error) {
      // The input checkpoint expected no head: a conflict there means the thread exists, and nothing ran.
      if (error instanceof CheckpointConflictError && !loop.savedInput) {
        throw new ThreadExistsError(threadId);
      }
      throw error;
    }
  }

  /** The store as this invocation writes it: fenced by a claimed run's lease, if it has one. */
  private storeFor(options: InvokeOptions): Checkpointer {
    return options.fence ? fenced(this.checkpointer, options.fence) : this.checkpointer;
  }

  private async finish(loop: RunLoop, input: unknown, keep: boolean) {
    const result = await loop.run(input);
    if (keep) this.warm.put(loop.threadId, loop);
    return result;
  }

  private runOptions(
    options: InvokeOptions,
    emit: (event: StreamEvent) => void,
    modes: ReadonlySet<StreamMode> = NO_MODES,
  ): RunOptions {
    const threadId = options.threadId ?? (this.ephemeral ? randomUUID() : undefined);
    if (threadId === undefined)
      throw new TypeError("invoke/stream need { threadId } on a graph with a checkpointer");
    return {
      threadId,
      // A graph without a checkpointer keeps a thread only when given its id.
      persistent: !this.ephemeral || options.threadId !== undefined,
      namespace: "",
      recursionLimit: options.recursionLimit ?? DEFAULT_RECURSION_LIMIT,
      durability: options.durability ?? "sync",
      signal: options.signal ?? new AbortController().signal,
      ...(options.stop ? { stop: options.stop } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
      ...(options.checkpointId ? { checkpointId: options.checkpointId } : {}),
      interruptBefore: this.interruptBefore,
      interruptAfter: this.interruptAfter,
      emit,
      modes,
    };
  }
}
