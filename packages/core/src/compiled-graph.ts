import { randomUUID } from "node:crypto";
import {
  CheckpointConflictError,
  ERROR_CHANNEL,
  ThreadExistsError,
  MemoryCheckpointer,
  type ChannelWrite,
  type Checkpointer,
  type CheckpointMetadata,
  type Fence,
  type JsonValue,
  type LoadedCheckpoint,
  type SerializedError,
} from "@waypoint/checkpoint";
import { Command, EFFECT_CHANNEL, SLOT, toolEffectName } from "./constants.js";
import type { ToolCallRequest } from "./channels/channel.js";
import type { EffectRecord } from "./pregel/task-journal.js";
import { drawMermaid } from "./graph/mermaid.js";
import type { GraphSpec, NodeFunction } from "./graph/graph-spec.js";
import { runSubgraph } from "./pregel/subgraph.js";
import type { CompileOptions } from "./graph/state-graph.js";
import { AsyncQueue } from "./internal/async-queue.js";
import { fenced } from "./internal/fenced.js";
import { WarmRuns } from "./internal/warm-runs.js";
import { ChannelSet } from "./pregel/channel-set.js";
import type { Interrupt } from "./pregel/interrupt.js";
import { interruptSlots, taskIsDone, taskWritesFrom } from "./pregel/pending.js";
import { RunLoop, type Durability, type RunOptions } from "./pregel/run-loop.js";
import type { StreamEvent, StreamMode } from "./pregel/stream-events.js";
import type { StateDefinition, StateOf, UpdateOf } from "./state.js";

export interface InvokeOptions {
  /** The thread to run on. Optional only for a graph compiled without a checkpointer. */
  readonly threadId?: string;
  /** Time travel: run from this older checkpoint; the result is a new branch. */
  readonly checkpointId?: string;
  /** Supersteps a run may take after its input (default 25). */
  readonly recursionLimit?: number;
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

export interface StreamOptions<M extends StreamMode | readonly StreamMode[]> extends InvokeOptions {
  /** One mode yields its payloads; a list yields [mode, payload] pairs. Default "values". */
  readonly streamMode?: M;
  /**
   * Also yield subgraphs' events. Each item then starts with its namespace
   * (a list of "node:taskId" levels, [] for the root graph).
   */
  readonly subgraphs?: boolean;
}

export type InvokeResult<D extends StateDefinition> = StateOf<D> & {
  __interrupt__?: readonly Interrupt[];
};

export interface StateTask {
  readonly id: string;
  readonly name: string;
  readonly triggers: readonly string[];
  readonly interrupts: readonly Interrupt[];
  readonly error?: SerializedError;
  /** Writes the task saved before the superstep ended, if it finished. */
  readonly writes?: readonly ChannelWrite[];
}

/** A tool call the model asked for that has no result in the state yet. */
export interface PendingToolCall extends ToolCallRequest {
  /** The state key of the conversation it belongs to. */
  readonly channel: string;
  /** Set when its effect already ran and was recorded (the result comes into the state when its superstep commits). */
  readonly recorded?: {
    readonly ok: boolean;
    readonly result?: unknown;
    readonly error?: SerializedError;
  };
}

/** `getState`: a thread's state at one checkpoint, with what comes next. */
export interface StateSnapshot<D extends StateDefinition> {
  readonly values: StateOf<D>;
  /** Nodes of the next superstep. */
  readonly next: readonly string[];
  readonly tasks: readonly StateTask[];
  readonly interrupts: readonly Interrupt[];
  /** Tool calls the model asked for without a result yet, with any result already recorded. */
  readonly pendingToolCalls: readonly PendingToolCall[];
  readonly checkpointId: string;
  readonly parentCheckpointId: string | null;
  readonly step: number;
  readonly createdAt: Date;
  readonly metadata: CheckpointMetadata;
}

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

  constructor(
    readonly spec: GraphSpec,
    private readonly options: CompileOptions,
  ) {
    this.ephemeral = options.checkpointer === undefined;
    this.checkpointer = options.checkpointer ?? new MemoryCheckpointer();
    this.interruptBefore = new Set(options.interruptBefore ?? []);
    this.interruptAfter = new Set(options.interruptAfter ?? []);
  }

  /** Runs until the graph finishes or interrupts; returns the final state. */
  async invoke(
    input: UpdateOf<D> | Command | null,
    options: InvokeOptions = {},
  ): Promise<InvokeResult<D>> {
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
    const modes: readonly StreamMode[] =
      typeof options.streamMode === "string"
        ? [options.streamMode]
        : ((options.streamMode as readonly StreamMode[]) ?? ["values"]);
    const single = typeof options.streamMode === "string" || options.streamMode === undefined;
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
        const item = single ? [event.data] : [event.mode, event.data];
        const namespace = event.namespace === undefined ? [] : event.namespace.split("|");
        yield (
          options.subgraphs === true ? [namespace, ...item] : single ? event.data : item
        ) as never;
      }
      await finished;
    } finally {
      controller.abort(); // a consumer that stops early stops the run
      await finished.catch(() => undefined);
    }
  }

  async getState(
    threadId: string,
    options: { checkpointId?: string } = {},
  ): Promise<StateSnapshot<D> | undefined> {
    const loaded = await this.checkpointer.get(
      threadId,
      options.checkpointId ? { checkpointId: options.checkpointId } : {},
    );
    return loaded === undefined ? undefined : this.snapshotOf(loaded);
  }

  /** Every checkpoint of a thread, newest first, with its state. */
  async *getStateHistory(
    threadId: string,
    options: { limit?: number; before?: string; filter?: Readonly<Record<string, JsonValue>> } = {},
  ): AsyncGenerator<StateSnapshot<D>> {
    for await (const header of this.checkpointer.list(threadId, options)) {
      const loaded = await this.checkpointer.get(threadId, { checkpointId: header.id });
      if (loaded !== undefined) yield this.snapshotOf(loaded);
    }
  }

  /**
   * Edits a thread's state as if `asNode` had returned `values` (its edges
   * then decide what runs next). From an older `checkpointId`, the edit starts
   * a new branch. Returns the new checkpoint's id.
   */
  async updateState(
    threadId: string,
    values: UpdateOf<D>,
    options: { asNode?: string; checkpointId?: string } = {},
  ): Promise<string> {
    const loop = await RunLoop.open(
      this.spec,
      this.checkpointer,
      this.runOptions({ threadId, ...options }, () => undefined),
    );
    return loop.update(values, options.asNode);
  }

  /** This graph as a node of a parent graph; `addNode(name, compiled)` calls it. */
  asNode(): NodeFunction<never, unknown> {
    const statics = {
      interruptBefore: new Set(this.options.interruptBefore ?? []),
      interruptAfter: new Set(this.options.interruptAfter ?? []),
    };
    return (state, context) => runSubgraph(this.spec, statics, state, context);
  }

  drawMermaid(): string {
    return drawMermaid(this.spec.shape);
  }

  private async start(
    input: unknown,
    options: InvokeOptions,
    emit: (event: StreamEvent) => void,
    modes: ReadonlySet<StreamMode>,
  ): Promise<{ values: Record<string, unknown>; interrupts: readonly Interrupt[] }> {
    const runOptions = this.runOptions(options, emit, modes);
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

  private snapshotOf(loaded: LoadedCheckpoint): StateSnapshot<D> {
    const checkpoint = loaded.checkpoint;
    const channels = ChannelSet.fromLoaded(this.spec.channels, this.spec.stateKeys, loaded);
    // In plan order, like invoke reports them (pending writes come sorted by task id).
    const order = new Map(checkpoint.next.map((task, index) => [task.id, index]));
    const interrupts = interruptSlots(loaded.pendingWrites)
      .sort((a, b) => (order.get(a.taskId) ?? order.size) - (order.get(b.taskId) ?? order.size))
      .flatMap((slot) => slot.interrupts);
    const tasks = checkpoint.next.map((task) => {
      const own = loaded.pendingWrites.filter((w) => w.taskId === task.id);
      const error = own.find((w) => w.idx === SLOT.error && w.channel === ERROR_CHANNEL)?.value as
        SerializedError | undefined;
      return {
        id: task.id,
        name: task.node,
        triggers: task.triggers,
        interrupts: interruptSlots(own).flatMap((slot) => slot.interrupts),
        ...(error ? { error } : {}),
        ...(taskIsDone(own)
          ? { writes: taskWritesFrom(own).filter((w) => this.spec.stateKeys.includes(w.channel)) }
          : {}),
      };
    });
    const values = channels.values();
    const recorded = new Map(
      loaded.pendingWrites
        .filter((write) => write.channel === EFFECT_CHANNEL)
        .map((write) => write.value as EffectRecord)
        .map((record) => [record.name, record]),
    );
    const pendingToolCalls = this.spec.stateKeys.flatMap((key) => {
      const find = this.spec.channels.get(key)?.pendingToolCalls;
      if (find === undefined || values[key] === undefined) return [];
      return find(values[key]).map((call) => {
        const record = recorded.get(toolEffectName(call.id));
        const result = record && {
          ok: record.ok,
          ...(record.ok ? { result: record.result } : { error: record.error }),
        };
        return { ...call, channel: key, ...(result ? { recorded: result } : {}) };
      });
    });
    return {
      values: values as StateOf<D>,
      pendingToolCalls,
      next: checkpoint.next.map((task) => task.node),
      tasks,
      interrupts,
      checkpointId: checkpoint.id,
      parentCheckpointId: checkpoint.parentId,
      step: checkpoint.step,
      createdAt: checkpoint.createdAt,
      metadata: checkpoint.metadata,
    };
  }
}
