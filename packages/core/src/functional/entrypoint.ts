import { InvalidArgumentError, type Checkpointer, type JsonValue } from "@waypoint/checkpoint";
import type { ChannelSpec } from "../channels/channel.js";
import { ephemeral } from "../channels/ephemeral.js";
import { lastValue } from "../channels/last-value.js";
import type {
  CompiledGraph,
  InvokeOptions,
  RetriedEffect,
  StateSnapshot,
  StreamOptions,
} from "../compiled-graph.js";
import { Command, END, START } from "../constants.js";
import type { DeployOptions, GraphIdentity, GraphVersion } from "../graph/graph-identity.js";
import type { GraphDrawing } from "../graph/graph-drawing.js";
import type { NodeContext, RetryPolicy } from "../graph/graph-spec.js";
import { StateGraph } from "../graph/state-graph.js";
import { parseOptions } from "../internal/options.js";
import { GraphInterrupt, type Interrupt } from "../pregel/graph-interrupt.js";
import { streamShape, type StreamEvent, type StreamMode } from "../pregel/stream-events.js";
import { defineState } from "../state.js";
import { currentFunctionalRun, runFunctional, type FunctionalRun } from "./task.js";

/**
 * Options of `entrypoint()`: the name, the store, the function's retry policy
 * and timeout, and the deploy options a compiled graph takes (version,
 * migrations).
 *
 * @experimental
 */
export interface EntrypointOptions extends Omit<DeployOptions, "name" | "renamedNodes"> {
  /** The entrypoint's node, and the graph name its checkpoints record. */
  readonly name: string;
  readonly checkpointer?: Checkpointer;
  /** Retries of the whole function (recorded task calls replay; the rest runs again). */
  readonly retry?: RetryPolicy;
  /** How long one attempt of the function may run before it fails with NodeTimeoutError. */
  readonly timeoutMs?: number;
}

/**
 * What an entrypoint's function receives besides its input: a node's context, and the thread's saved state.
 *
 * @experimental
 */
export interface EntrypointContext extends NodeContext {
  /** What the last finished run on this thread saved (`entrypoint.final`'s `save`, else its result). */
  readonly previous: unknown;
}

/**
 * `entrypoint.final({ value, save })`: return `value`, and keep `save` for the thread's next run.
 *
 * @experimental
 */
export class EntrypointFinal<Value, Save> {
  constructor(
    readonly value: Value,
    readonly save: Save,
  ) {}
}

/**
 * An entrypoint's getState: `values` is what the run returned (undefined until it has).
 *
 * @experimental
 */
export type EntrypointSnapshot<Output> = Omit<StateSnapshot<EntrypointState>, "values"> & {
  readonly values: Output | undefined;
};

/**
 * What interrupted runs return, as LangGraph's entrypoints do.
 *
 * @experimental
 */
export interface EntrypointInterrupted {
  readonly __interrupt__: readonly Interrupt[];
}

/**
 * The function an entrypoint runs.
 *
 * @experimental
 */
export type EntrypointFunction<Input, Output> = (
  input: Input,
  ctx: EntrypointContext,
) => Output | Promise<Output>;

/**
 * What a run of an entrypoint returns: the value of an `entrypoint.final`, else what the function returned.
 *
 * @experimental
 */
export type OutputOf<Output> =
  Output extends EntrypointFinal<infer Value, unknown> ? Value : Output;

/**
 * Values are boxed: undefined is a value a run may take or return, and a write of undefined is none.
 *
 * @experimental
 */
export interface EntrypointBox<T = unknown> {
  readonly value: T;
}

/**
 * The state every entrypoint's graph has.
 *
 * @experimental
 */
export type EntrypointState = {
  /** This run's input: gone after the run's first commit. */
  readonly input: ChannelSpec<EntrypointBox | undefined, EntrypointBox>;
  /** What the run returned: kept until the thread's next input. */
  readonly output: ChannelSpec<EntrypointBox | undefined, EntrypointBox>;
  /** What the next run's `previous` / `getPreviousState()` reads. */
  readonly previous: ChannelSpec<EntrypointBox | undefined, EntrypointBox>;
};

const entrypointState: EntrypointState = defineState({
  input: ephemeral<EntrypointBox>(),
  output: ephemeral<EntrypointBox>(),
  previous: lastValue<EntrypointBox>(),
});

/**
 * A durable workflow written as plain async code, LangGraph's `entrypoint`:
 * the function runs as the one node of a graph, so it has the compiled
 * graph's interface (invoke, stream, getState, a Worker, `client.runs`) on
 * every checkpointer. Its `task()` calls are recorded as they finish; after a
 * crash, an interrupt or a retry the function runs again from the top, and
 * recorded calls return their results without running.
 *
 * ```ts
 * const workflow = entrypoint({ name: "report", checkpointer }, async (topic: string) => {
 *   const pages = await Promise.all(urls(topic).map((url) => fetchPage(url)));
 *   return summarize(pages);
 * });
 * await workflow.invoke("durability", { threadId: "t1" });
 * ```
 *
 * @experimental
 */
export function entrypoint<Input, Output>(
  options: string | EntrypointOptions,
  fn: EntrypointFunction<Input, Output>,
): Entrypoint<Input, OutputOf<Output>> {
  const resolved = typeof options === "string" ? { name: options } : options;
  parseOptions("entrypoint", resolved);
  if (typeof fn !== "function" || isGeneratorFunction(fn))
    throw new InvalidArgumentError(
      "entrypoint function",
      `expected a function or an async function (its result is the run's), got ${
        typeof fn === "function" ? "a generator function" : typeof fn
      }`,
    );
  return new Entrypoint(resolved, fn);
}

/** Ends a run with `value`, and saves `save` (not `value`) for the thread's next run. */
entrypoint.final = <Value, Save>(options: {
  readonly value?: Value;
  readonly save?: Save;
}): EntrypointFinal<Value, Save> =>
  new EntrypointFinal(options.value as Value, options.save as Save);

/**
 * What the last finished run on this thread saved, inside an entrypoint's
 * run (LangGraph's `getPreviousState`); undefined on a thread's first run.
 *
 * @experimental
 */
export function getPreviousState<T = unknown>(): T | undefined {
  const run = currentFunctionalRun();
  if (run === undefined) throw new Error("getPreviousState() was called outside an entrypoint");
  return run.previous as T | undefined;
}

/**
 * What `entrypoint()` returns: the function as a one-node graph, with the
 * compiled graph's interface (`invoke`, `stream`, the state reads and edits),
 * where values are the function's input and result.
 *
 * @experimental
 */
export class Entrypoint<Input, Output> {
  /** The one-node graph the function runs in (its checkpoints, its history, its shape). */
  readonly graph: CompiledGraph<EntrypointState>;
  readonly name: string;

  constructor(options: EntrypointOptions, fn: EntrypointFunction<Input, unknown>) {
    const { name, checkpointer, retry, timeoutMs, ...deploy } = options;
    this.name = name;
    this.graph = new StateGraph(entrypointState)
      .addNode(
        name,
        (state, ctx) => runEntrypoint(fn as EntrypointFunction<unknown, unknown>, state, ctx),
        {
          ...(retry !== undefined ? { retry } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        },
      )
      .addEdge(START, name)
      .addEdge(name, END)
      .compile({ name, ...deploy, ...(checkpointer !== undefined ? { checkpointer } : {}) });
  }

  /** Where the entrypoint keeps its threads (a MemoryCheckpointer when given none). */
  get checkpointer(): Checkpointer {
    return this.graph.checkpointer;
  }

  /** The name, version and fingerprint every checkpoint of this entrypoint records (`metadata.graph`). */
  get identity(): GraphIdentity {
    return this.graph.identity;
  }

  /**
   * Whether a thread written by `version` was written by a newer version of
   * this entrypoint (as the compiled graph's `isNewerVersion`).
   */
  isNewerVersion(version: GraphVersion): boolean {
    return this.graph.isNewerVersion(version);
  }

  /** Runs the function (or resumes it with `Command({ resume })`); returns its result. */
  async invoke(
    input: Input | Command | null,
    options: InvokeOptions = {},
  ): Promise<Output | EntrypointInterrupted> {
    const result = await this.graph.invoke(graphInput(input), options);
    if (result.__interrupt__ !== undefined) return { __interrupt__: result.__interrupt__ };
    return result.output?.value as Output;
  }

  /** Continues a thread from its last checkpoint (same as `invoke(null, { threadId })`). */
  resume(
    threadId: string,
    options: Omit<InvokeOptions, "threadId"> = {},
  ): Promise<Output | EntrypointInterrupted> {
    return this.invoke(null, { ...options, threadId });
  }

  /**
   * Runs like `invoke`, yielding events: "values" is the result once the run
   * returns; "updates" gives `{ [task]: result }` for each task call that ran
   * and `{ [entrypoint]: result }` at the end; "custom", "messages", "tasks",
   * "checkpoints" and "debug" are the graph's.
   */
  async *stream<M extends StreamMode | readonly StreamMode[] = "values">(
    input: Input | Command | null,
    options: StreamOptions<M> = {},
  ): AsyncGenerator<M extends readonly StreamMode[] ? [StreamMode, unknown] : unknown> {
    parseOptions("stream", options);
    const shape = streamShape(options);
    for await (const event of this.graph.events(graphInput(input), options, shape.modes)) {
      const mapped = event.namespace === undefined ? this.rootEvent(event) : event;
      if (mapped !== undefined) yield shape.item(mapped) as never;
    }
  }

  /** The root graph's "values" become the result (none before the run returns); "updates" name it. */
  private rootEvent(event: StreamEvent): StreamEvent | undefined {
    if (event.mode === "values") {
      const output = (event.data as { output?: EntrypointBox }).output;
      return output === undefined ? undefined : { mode: "values", data: output.value as never };
    }
    if (event.mode === "updates") return { mode: "updates", data: this.updateOf(event.data) };
    return event;
  }

  /** The node's own update becomes `{ [name]: result }`; a task's is as it came. */
  private updateOf(data: Record<string, unknown>): Record<string, unknown> {
    const update = data[this.name] as
      { output?: EntrypointBox; previous?: EntrypointBox } | undefined;
    if (update === null || typeof update !== "object" || !("previous" in update)) return data;
    return { ...data, [this.name]: update.output?.value };
  }

  /** The thread's state: `values` is the last run's result, until the next input. */
  async getState(
    threadId: string,
    options: { checkpointId?: string; subgraphs?: boolean } = {},
  ): Promise<EntrypointSnapshot<Output> | undefined> {
    const snapshot = await this.graph.getState(threadId, options);
    return snapshot === undefined ? undefined : resultSnapshot<Output>(snapshot);
  }

  /** Every checkpoint of the thread, newest first: two per run (its input, its end), none per task call. */
  async *getStateHistory(
    threadId: string,
    options: {
      limit?: number;
      before?: string;
      filter?: Readonly<Record<string, JsonValue>>;
    } = {},
  ): AsyncGenerator<EntrypointSnapshot<Output>> {
    for await (const snapshot of this.graph.getStateHistory(threadId, options))
      yield resultSnapshot<Output>(snapshot);
  }

  /**
   * Replaces what the thread's next run reads as its previous state
   * (`getPreviousState()`), and its result (`getState().values`) until that
   * run, as LangGraph's does; `null` only moves the head to `checkpointId`
   * (a fork). Returns the new checkpoint's id.
   */
  updateState(
    threadId: string,
    save: unknown,
    options: { checkpointId?: string } = {},
  ): Promise<string> {
    // As LangGraph's: the value is the thread's result too, until its next run.
    const values = save === null ? null : { previous: { value: save }, output: { value: save } };
    return this.graph.updateState(threadId, values, {
      ...options,
      ...(save === null ? {} : { asNode: this.name }),
    });
  }

  /**
   * Clears the recorded TerminalErrors of the thread's failed task calls and
   * effects, so that the next `invoke(null)` calls them again under new keys
   * (the compiled graph's `retryFailedEffects`).
   */
  retryFailedEffects(threadId: string): Promise<RetriedEffect[]> {
    return this.graph.retryFailedEffects(threadId);
  }

  /** The one-node graph's nodes and edges. */
  getGraph(): GraphDrawing {
    return this.graph.getGraph();
  }
}

function isGeneratorFunction(fn: unknown): boolean {
  const name = (fn as { constructor?: { name?: unknown } }).constructor?.name;
  return name === "GeneratorFunction" || name === "AsyncGeneratorFunction";
}

function graphInput(input: unknown): { input: EntrypointBox } | Command | null {
  return input === null || input instanceof Command ? input : { input: { value: input } };
}

function resultSnapshot<Output>(
  snapshot: StateSnapshot<EntrypointState>,
): EntrypointSnapshot<Output> {
  return { ...snapshot, values: snapshot.values.output?.value as Output | undefined };
}

/** The entrypoint's node: the function, then every task call it started, settled. */
async function runEntrypoint(
  fn: EntrypointFunction<unknown, unknown>,
  state: {
    readonly input: EntrypointBox | undefined;
    readonly previous: EntrypointBox | undefined;
  },
  ctx: NodeContext,
) {
  const previous = state.previous?.value;
  const run: FunctionalRun = { inflight: new Set(), interrupted: [], previous };
  let result: unknown;
  try {
    result = await runFunctional(run, () => fn(state.input?.value, { ...ctx, previous }));
  } catch (error) {
    await settle(run);
    throw error instanceof GraphInterrupt ? allInterrupts([error, ...run.interrupted]) : error;
  }
  // Calls it did not await still finish, and are recorded, before the run ends.
  await settle(run);
  if (run.interrupted.length > 0) throw allInterrupts(run.interrupted);
  const final =
    result instanceof EntrypointFinal ? (result as EntrypointFinal<unknown, unknown>) : undefined;
  return {
    output: { value: final ? final.value : result },
    previous: { value: final ? final.save : result },
  };
}

/** Waits until no task call of the run is running. */
async function settle(run: FunctionalRun): Promise<void> {
  while (run.inflight.size > 0) await Promise.allSettled([...run.inflight]);
}

/**
 * All the interrupts of the run, reported together (parallel task calls may
 * each ask), so that one `Command({ resume: { [id]: value } })` answers them.
 */
function allInterrupts(raised: readonly GraphInterrupt[]): GraphInterrupt {
  const interrupts = new Map<string, Interrupt>();
  for (const error of raised) for (const item of error.interrupts) interrupts.set(item.id, item);
  return new GraphInterrupt([...interrupts.values()]);
}
