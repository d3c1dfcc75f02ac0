/** The virtual node a graph starts from. */
export const START = "__start__";
/** The virtual node a graph ends at. */
export const END = "__end__";
/**
 * `updateState(threadId, null, { asNode: COPY })` forks the checkpoint: a new
 * head with the same state and plan, whose tasks run afresh (new task ids and
 * idempotency keys, no pending writes).
 */
export const COPY = "__copy__";
/** The key under which `invoke`'s result and the streams' chunks list pending interrupts. */
export const INTERRUPT = "__interrupt__";

/** Runs `node` once with `payload` as its input, in the next superstep (map-reduce fan-out). */
export class Send<Payload = unknown> {
  readonly node: string;
  readonly payload: Payload;
  constructor(node: string, payload: Payload) {
    this.node = node;
    this.payload = payload;
  }
}

/** Where a Command sends the graph next: a node's name, a Send, or a list of them. */
export type Goto = string | Send | readonly (string | Send)[];

/** A Command's update as `[key, value]` pairs, applied in order. */
export type UpdatePairs = readonly (readonly [key: string, value: unknown])[];

/**
 * Returned by a node: state `update` plus where to go next (`goto`). Passed to
 * `invoke` or `stream`: `resume` answers pending interrupts. With
 * `graph: Command.PARENT`, returned by a node of a subgraph, the update and
 * goto apply to the parent graph, as if the subgraph's node had returned them.
 */
export class Command<Update = Record<string, unknown>> {
  /** `graph` of a Command meant for the graph that runs this subgraph as a node. */
  static readonly PARENT = "__parent__";
  // Declared, not defined: a field is an own property only when given, so
  // that `Command({ resume: undefined })` (a resume with the value undefined)
  // differs from `Command({ update })` (no resume at all).
  /** An object of updates, or `[key, value]` pairs (a key with a reducer may come twice). */
  declare readonly update?: Update | UpdatePairs;
  declare readonly goto?: Goto;
  declare readonly resume?: unknown;
  declare readonly graph?: string;
  constructor(options: {
    update?: Update | UpdatePairs;
    goto?: Goto;
    resume?: unknown;
    graph?: string;
  }) {
    if (options.update !== undefined) this.update = options.update;
    if (options.graph !== undefined) this.graph = options.graph;
    if (options.goto !== undefined) this.goto = options.goto;
    if ("resume" in options) this.resume = options.resume;
  }

  /**
   * LangChain's tools return an output so marked as it is, instead of
   * wrapping it in a ToolMessage, as they do LangGraph's Command. A getter,
   * so that it is not one of the Command's own fields (its options).
   */
  get lc_direct_tool_output(): true {
    return true;
  }
}

/** Reserved channel names the runtime uses. */
export const SENDS_CHANNEL = "__sends__";
export const branchChannel = (node: string) => `branch:to:${node}`;
export const joinChannel = (sources: readonly string[], target: string) =>
  `join:${sources.join("+")}:${target}`;
/** Pending-write channel that marks a task as finished. */
export const DONE_CHANNEL = "__done__";
/** Pending-write channel holding a task's resume values (interrupt id → value). */
export const RESUME_VALUES_CHANNEL = "__resume_values__";

/** Pending-write channel of a recorded effect. */
export const EFFECT_CHANNEL = "__effect__";
/** Pending-write channel that replaces a recorded effect failure cleared for a retry. */
export const EFFECT_RETRY_CHANNEL = "__effect_retry__";
/**
 * Pending-write channel of a task carried over to a new checkpoint by an edit:
 * the checkpoint it was planned in, which its effects' keys keep naming.
 */
export const ORIGIN_CHANNEL = "__origin__";
/** Pending-write channel of a task's latest partial output. */
export const PARTIAL_CHANNEL = "__partial__";

/**
 * The runtime's own pending-write channels, for tools that read a store
 * without the graph (the CLI, the inspector): a task's done marker, resume
 * values, recorded effects (EffectRecord), effects cleared for a retry, the
 * checkpoint a carried task was planned in, and its partial output.
 */
export const RUNTIME_CHANNELS = {
  done: DONE_CHANNEL,
  resumeValues: RESUME_VALUES_CHANNEL,
  effect: EFFECT_CHANNEL,
  effectRetry: EFFECT_RETRY_CHANNEL,
  origin: ORIGIN_CHANNEL,
  partial: PARTIAL_CHANNEL,
} as const;

/** Fixed pending-write slots of a task (negative idx: the runtime's own); effects count down from effectBase. */
export const SLOT = {
  status: -2,
  resumeValues: -3,
  error: -4,
  partial: -5,
  origin: -6,
  effectBase: -100,
} as const;

/** The effect name under which a tool call runs (ToolNode), so getState can show its recorded result. */
export const toolEffectName = (toolCallId: string) => `tool:${toolCallId}`;
