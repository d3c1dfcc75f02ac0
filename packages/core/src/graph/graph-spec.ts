import type { ChannelSpec } from "../channels/channel.js";
import type { Command, Send } from "../constants.js";
import type { PlannerNode } from "../pregel/planner.js";
import type { StateDefinition } from "../state.js";
import type { GraphDeploy } from "./graph-identity.js";
import type { GraphShape } from "./mermaid.js";
import type { Salvage } from "../pregel/task-journal.js";

/**
 * Retries of a failed node. A node without one is tried once; with one, each
 * field left out takes its default, so `retry: {}` means 3 attempts of the
 * errors `defaultRetryOn` accepts. A TerminalError is never retried, nor is
 * a run whose signal was aborted.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 3). */
  readonly maxAttempts?: number;
  /** The wait before the second attempt (default 500 ms). */
  readonly initialIntervalMs?: number;
  /** Each wait is the one before times this (default 2). */
  readonly backoffFactor?: number;
  /** The longest wait (default 30,000 ms). */
  readonly maxIntervalMs?: number;
  /** Spread each wait randomly between half and all of it (default true). */
  readonly jitter?: boolean;
  /**
   * Which errors to retry (default `defaultRetryOn`: not cancellations,
   * programming errors such as TypeError, nor HTTP 4xx but 408 and 429).
   * A TerminalError is not retried whatever this says.
   */
  readonly retryOn?: (error: unknown) => boolean;
}

/** What a node receives besides the state. */
export interface NodeContext {
  readonly threadId: string;
  /** "" for the root graph. */
  readonly namespace: string;
  readonly step: number;
  readonly taskId: string;
  readonly node: string;
  /** 1 on the first try; counts retries within this run. */
  readonly attempt: number;
  /** Aborted on cancel or timeout; pass it to fetch, model calls and tools. */
  readonly signal: AbortSignal;
  /** Sends a chunk to `stream(..., { streamMode: "custom" })`. */
  writer(chunk: unknown): void;
  /** Sends a model's token chunk to `stream(..., { streamMode: "messages" })`. */
  streamMessage(chunk: unknown): void;
  /** Pauses the run for a human; returns the resume value once given. */
  interrupt<Resume = unknown>(value: unknown): Resume;
  /**
   * Runs a side effect at most once per (task, name, call index): its result
   * is recorded before this returns, and a replay of the node (after a crash,
   * an interrupt or a retry) gets the recorded result without calling `fn`.
   * Pass `idempotencyKey` to the outside system so that an effect that ran
   * but was not recorded before a crash is deduplicated there.
   */
  effect<T>(name: string, fn: (info: EffectInfo) => T | Promise<T>): Promise<T>;
  /** Saves the node's latest partial output (throttled), for `salvage` after a crash. */
  partial(value: unknown): void;
  /** The partial output an earlier attempt of this task saved, if any. */
  readonly salvage: Salvage | undefined;
}

/** What an effect's function receives. */
export interface EffectInfo {
  /** The same on every replay of this effect: derived from thread, checkpoint, task, name and call index. */
  readonly idempotencyKey: string;
  /** The node's attempt in this process (1 on the first try). */
  readonly attempt: number;
  readonly signal: AbortSignal;
}

/** A node's result: an update, a Command, or (as LangGraph allows) a list of both, all applied. */
export type NodeResult<Update> =
  Update | Command<Update> | readonly (Update | Command<Update>)[] | void | undefined;

/** A node as a function: it gets the state (or a Send's payload) and its context, and returns its update. */
export type NodeFunction<State = Record<string, unknown>, Update = Record<string, unknown>> = (
  state: State,
  context: NodeContext,
) => NodeResult<Update> | Promise<NodeResult<Update>>;

/** Where a router sends the graph next: a node's name (or END), a Send, or a list of them. */
export type RouterResult = string | Send | readonly (string | Send)[];

/** The function of a conditional edge: it reads the state and names the next node(s). */
export type Router<State = Record<string, unknown>> = (
  state: State,
) => RouterResult | Promise<RouterResult>;

/**
 * A node given as an object with LangChain's `invoke(input, config)` (a
 * `Runnable`, LangGraph's `RunnableLike`): it gets the state (or a Send's
 * payload) and `{ signal, configurable: { thread_id } }`, and what it returns
 * is the node's update.
 */
export interface RunnableLike<Input = Record<string, unknown>, Update = Record<string, unknown>> {
  /** Runs the node: returns its update, as a node function does. */
  invoke(
    input: Input,
    config: RunnableLikeConfig,
  ): NodeResult<Update> | Promise<NodeResult<Update>>;
}

/** The LangChain `RunnableConfig` fields a `RunnableLike` node is given. */
export interface RunnableLikeConfig {
  readonly signal: AbortSignal;
  readonly configurable: { readonly thread_id: string };
}

/** Options of `addNode`: retries, a timeout, the targets of its Commands, and deferral. */
export interface NodeOptions {
  readonly retry?: RetryPolicy;
  /** How long one attempt may run before it fails with NodeTimeoutError (its signal is aborted). */
  readonly timeoutMs?: number;
  /** Nodes this node may reach with `Command({ goto })`, for validation and drawing. */
  readonly ends?: readonly string[];
  /**
   * Run only once nothing else is pending: a triggered deferred node waits
   * until a superstep would otherwise have no task (a join of uneven branches).
   */
  readonly defer?: boolean;
}

export interface NodeSpec extends NodeOptions {
  readonly name: string;
  readonly run: NodeFunction<never, unknown>;
  /** Set when the node is a compiled graph: getState reads its state in the node's namespace. */
  readonly subgraph?: GraphSpec;
}

export interface BranchSpec {
  readonly from: string;
  readonly router: Router<never>;
  /** Router result → node; when given, only these targets are allowed. */
  readonly pathMap?: Readonly<Record<string, string>>;
}

/** A compiled graph's structure: everything the planner and the run loop need. */
export interface GraphSpec {
  readonly state: StateDefinition;
  readonly stateKeys: readonly string[];
  /** State channels plus the runtime's own (edges, joins, sends). */
  readonly channels: ReadonlyMap<string, ChannelSpec>;
  /** Channels never written to a checkpoint, not even as writes. */
  readonly untracked: ReadonlySet<string>;
  /**
   * Channels whose writes add to their value (reducers, topics): the store
   * reads their deltas as part of the state, so a growing list is not
   * rewritten in snapshots (PutRequest.accumulating).
   */
  readonly accumulating: ReadonlySet<string>;
  readonly nodes: ReadonlyMap<string, NodeSpec>;
  readonly plannerNodes: readonly PlannerNode[];
  /** For each source (a node or START): trigger channels to write when it finishes. */
  readonly edgeWrites: ReadonlyMap<string, readonly { channel: string; value: unknown }[]>;
  readonly branches: ReadonlyMap<string, readonly BranchSpec[]>;
  readonly shape: GraphShape;
  /** What every checkpoint records of this graph, and how threads of earlier versions go on. */
  readonly deploy: GraphDeploy;
}
