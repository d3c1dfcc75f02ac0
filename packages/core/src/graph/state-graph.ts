import { InvalidArgumentError, MAX_ID_LENGTH, isValidId } from "@waypoint/checkpoint";
import type { ChannelSpec } from "../channels/channel.js";
import { barrier } from "../channels/barrier.js";
import { topic } from "../channels/topic.js";
import { trigger } from "../channels/trigger.js";
import { CompiledGraph } from "../compiled-graph.js";
import { END, SENDS_CHANNEL, START, branchChannel, joinChannel } from "../constants.js";
import { GraphValidationError } from "../errors.js";
import { parseOptions } from "../internal/options.js";
import { resolveDeploy, type DeployOptions } from "./graph-identity.js";
import type { CompileOptions } from "./compile-options.js";
import { AnnotationRoot } from "./annotation.js";
import type { StateDefinition, StateOf, UpdateOf } from "../state.js";
import type {
  BranchSpec,
  GraphSpec,
  NodeFunction,
  NodeOptions,
  NodeSpec,
  Router,
  RunnableLike,
} from "./graph-spec.js";

/** A path map: the router's results that are allowed, or result → node. */
export type PathMap = readonly string[] | Readonly<Record<string, string>>;

/** `addConditionalEdges`' arguments as one object (LangGraph's object form). */
export interface BranchOptions<State> {
  readonly source: string;
  readonly path: Router<State>;
  readonly pathMap?: PathMap;
}

/** One node of `addSequence`: [name, function or graph or Runnable, options]. */
export type SequenceEntry<D extends StateDefinition> = readonly [
  name: string,
  run:
    | NodeFunction<StateOf<D>, UpdateOf<D>>
    | CompiledGraph<StateDefinition>
    | RunnableLike<StateOf<D>, UpdateOf<D>>,
  options?: NodeOptions,
];

/** The nodes of `addSequence`: functions by name, or [name, function, options] entries in order. */
export type SequenceNodes<D extends StateDefinition> =
  readonly SequenceEntry<D>[] | Readonly<Record<string, SequenceEntry<D>[1]>>;

/**
 * Builds a graph of nodes over a typed state, LangGraph style:
 *
 * ```ts
 * const graph = new StateGraph(State)
 *   .addNode("plan", plan)
 *   .addEdge(START, "plan")
 *   .addEdge("plan", END)
 *   .compile({ checkpointer });
 * ```
 */
export class StateGraph<D extends StateDefinition> {
  private readonly nodes: NodeSpec[] = [];
  private readonly edges: { from: string; to: string }[] = [];
  private readonly joins: { from: readonly string[]; to: string }[] = [];
  private readonly branches: BranchSpec[] = [];

  readonly state: D;

  /** `state` from `defineState`, or LangGraph's `Annotation.Root(…)`. */
  constructor(state: D | AnnotationRoot<D>) {
    this.state = state instanceof AnnotationRoot ? state.spec : state;
  }

  /**
   * A node is a function of the state, a compiled graph (a subgraph: it
   * reads the parent's keys it shares and hands back only its own writes),
   * or an object with `invoke(input, config)` such as a LangChain `Runnable`.
   * A node that `Send`s target receives the Send's payload instead of the
   * state: annotate its parameter with the payload's type
   * (`(item: { city: string }) => …`); an unannotated one is the state.
   */
  addNode<Input = StateOf<D>>(
    name: string,
    run:
      | NodeFunction<Input, UpdateOf<D>>
      | CompiledGraph<StateDefinition>
      | RunnableLike<Input, UpdateOf<D>>,
    options: NodeOptions = {},
  ): this {
    const node = nodeFunction(name, run);
    this.nodes.push({
      name,
      run: node,
      ...options,
      ...(run instanceof CompiledGraph ? { subgraph: run.spec } : {}),
    });
    return this;
  }

  /**
   * Adds the nodes in order, each with an edge to the next (LangGraph's
   * `addSequence`): a list of `[name, node, options?]`, or a record of nodes.
   * The edge into the first node and out of the last one are yours to add.
   */
  addSequence(nodes: SequenceNodes<D>): this {
    const list: readonly SequenceEntry<D>[] = Array.isArray(nodes)
      ? (nodes as readonly SequenceEntry<D>[])
      : Object.entries(nodes as Readonly<Record<string, SequenceEntry<D>[1]>>).map(
          ([name, run]) => [name, run] as const,
        );
    if (list.length === 0) throw new InvalidArgumentError("addSequence", "give at least one node");
    list.forEach(([name, run, options], index) => {
      this.addNode(name, run, options);
      if (index > 0) this.addEdge(list[index - 1]![0], name);
    });
    return this;
  }

  /** `from` may be a list: the target then waits for all of them (fan-in). */
  addEdge(from: string | readonly string[], to: string): this {
    if (typeof from === "string") this.edges.push({ from, to });
    else this.joins.push({ from: [...from], to });
    return this;
  }

  /** LangGraph's `setEntryPoint`: the same as `addEdge(START, node)`. */
  setEntryPoint(node: string): this {
    return this.addEdge(START, node);
  }

  /** LangGraph's `setFinishPoint`: the same as `addEdge(node, END)`. */
  setFinishPoint(node: string): this {
    return this.addEdge(node, END);
  }

  /**
   * After `source` runs, `path` reads the state (with `source`'s writes) and
   * names the next node(s), END, or `Send`s. A path map (list, or result →
   * node) restricts and documents the possible targets. The arguments may
   * also come as one object, `{ source, path, pathMap }`, as in LangGraph.
   */
  addConditionalEdges(options: BranchOptions<StateOf<D>>): this;
  addConditionalEdges(source: string, path: Router<StateOf<D>>, pathMap?: PathMap): this;
  addConditionalEdges(
    sourceOrOptions: string | BranchOptions<StateOf<D>>,
    path?: Router<StateOf<D>>,
    pathMap?: PathMap,
  ): this {
    const options: Partial<BranchOptions<StateOf<D>>> =
      typeof sourceOrOptions === "object" && sourceOrOptions !== null
        ? sourceOrOptions
        : { source: sourceOrOptions, path, ...(pathMap === undefined ? {} : { pathMap }) };
    const from = options.source;
    if (typeof options.path !== "function") {
      throw new GraphValidationError(
        `the path of the conditional edge from ${quote(from)} is ${describe(options.path)}: give a function of the state that names the next node(s)`,
        { node: nameInData(from) },
      );
    }
    const map = Array.isArray(options.pathMap)
      ? Object.fromEntries((options.pathMap as readonly string[]).map((target) => [target, target]))
      : (options.pathMap as Readonly<Record<string, string>> | undefined);
    this.branches.push({
      from: from as string,
      router: options.path,
      ...(map ? { pathMap: map } : {}),
    });
    return this;
  }

  /**
   * Checks the graph (names, edges, reachability) and returns it ready to run,
   * storing its threads in `options.checkpointer`; throws GraphValidationError
   * on the first problem found. Without a checkpointer, threads live in memory.
   */
  compile(options: CompileOptions = {}): CompiledGraph<D> {
    parseOptions("compile", options);
    return new CompiledGraph<D>(this.validate(options), options);
  }

  private validate(options: CompileOptions): GraphSpec {
    for (const key of Object.keys(this.state)) {
      const problem = nameProblem(key);
      if (problem !== undefined) {
        throw new GraphValidationError(`state key ${quote(key)} ${problem}`, { key: quote(key) });
      }
    }
    const names = new Set<string>();
    for (const node of this.nodes) {
      const problem = nameProblem(node.name, branchChannel(""));
      if (problem !== undefined) {
        throw new GraphValidationError(`node name ${quote(node.name)} ${problem}`, {
          node: quote(node.name),
        });
      }
      if (
        node.name === START ||
        node.name === END ||
        node.name.startsWith("__") ||
        node.name.includes(":")
      ) {
        throw new GraphValidationError(`"${node.name}" is a reserved node name`, {
          node: node.name,
        });
      }
      if (names.has(node.name))
        throw new GraphValidationError(`node "${node.name}" is added twice`, { node: node.name });
      if (Object.hasOwn(this.state, node.name)) {
        throw new GraphValidationError(`node "${node.name}" has the name of a state key`, {
          node: node.name,
        });
      }
      names.add(node.name);
    }
    const known = [...names];
    const checkNode = (name: string, where: string, allow: readonly string[]) => {
      if (!names.has(name) && !allow.includes(name)) {
        throw new GraphValidationError(
          `${where} names unknown node "${name}" (nodes: ${known.join(", ")})`,
          {
            node: name,
          },
        );
      }
    };
    for (const edge of this.edges) {
      checkNode(edge.from, `an edge from "${edge.from}"`, [START]);
      checkNode(edge.to, `an edge to "${edge.to}"`, [END]);
    }
    for (const join of this.joins) {
      for (const from of join.from) checkNode(from, `a fan-in edge to "${join.to}"`, []);
      checkNode(join.to, `a fan-in edge`, [END]);
      // A fan-in's barrier clears a step after it completes, while a deferred node may wait longer.
      if (this.nodes.some((n) => n.name === join.to && n.defer === true))
        throw new GraphValidationError(
          `the deferred node "${join.to}" cannot be the target of a fan-in edge: give it a plain edge from each source; it runs once, after all of them`,
          { node: join.to },
        );
    }
    for (const branch of this.branches) {
      checkNode(branch.from, "a conditional edge", [START]);
      for (const target of Object.values(branch.pathMap ?? {}))
        checkNode(target, `the path map of "${branch.from}"`, [END]);
    }
    for (const node of this.nodes)
      for (const end of node.ends ?? []) checkNode(end, `ends of "${node.name}"`, [END]);
    for (const list of [options.interruptBefore, options.interruptAfter]) {
      if (list === "*") continue; // every node
      for (const name of list ?? []) checkNode(name, "interruptBefore/interruptAfter", []);
    }
    const sources = new Set([
      ...this.edges.map((e) => e.from),
      ...this.joins.flatMap((j) => j.from),
      ...this.branches.map((b) => b.from),
    ]);
    if (!sources.has(START))
      throw new GraphValidationError("the graph has no entry: add an edge from START");
    for (const node of this.nodes) {
      if (!sources.has(node.name) && (node.ends ?? []).length === 0) {
        throw new GraphValidationError(
          `node "${node.name}" has no way out: add an edge from it (to END to finish), a conditional edge, or declare its Command targets with { ends }`,
          { node: node.name },
        );
      }
    }
    this.checkReachable(names);
    const spec = this.buildSpec(options);
    // A fan-in's channel joins its sources' names: it too must be storable.
    for (const channel of spec.channels.keys()) {
      if (!isValidId(channel)) {
        throw new GraphValidationError(
          `the fan-in channel ${quote(channel)} is longer than ${MAX_ID_LENGTH} characters: shorten its nodes' names`,
          { channel: quote(channel) },
        );
      }
    }
    return spec;
  }

  /** Every node must be reachable from START, unless a router without a path map may go anywhere. */
  private checkReachable(names: ReadonlySet<string>): void {
    const reached = new Set<string>([START]);
    const queue = [START];
    while (queue.length > 0) {
      const from = queue.shift()!;
      const targets = [
        ...this.edges.filter((e) => e.from === from).map((e) => e.to),
        ...this.joins.filter((j) => j.from.includes(from)).map((j) => j.to),
        ...(this.nodes.find((n) => n.name === from)?.ends ?? []),
      ];
      for (const branch of this.branches.filter((b) => b.from === from)) {
        if (branch.pathMap === undefined) return; // may route anywhere, including by Send
        targets.push(...Object.values(branch.pathMap));
      }
      for (const target of targets) {
        if (!reached.has(target)) {
          reached.add(target);
          queue.push(target);
        }
      }
    }
    const unreachable = [...names].filter((name) => !reached.has(name));
    if (unreachable.length > 0) {
      throw new GraphValidationError(
        `unreachable from START: ${unreachable.map((n) => `"${n}"`).join(", ")}`,
        {
          nodes: unreachable,
        },
      );
    }
  }

  private buildSpec(options: DeployOptions): GraphSpec {
    const channels = new Map<string, ChannelSpec>(Object.entries(this.state));
    channels.set(SENDS_CHANNEL, topic({ accumulate: false }));
    const edgeWrites = new Map<string, { channel: string; value: unknown }[]>();
    const addWrite = (from: string, channel: string, value: unknown) =>
      edgeWrites.set(from, [...(edgeWrites.get(from) ?? []), { channel, value }]);
    const triggers = new Map<string, string[]>(
      this.nodes.map((n) => [n.name, [branchChannel(n.name)]]),
    );
    for (const node of this.nodes)
      channels.set(branchChannel(node.name), trigger({ sticky: node.defer === true }));
    for (const edge of this.edges)
      if (edge.to !== END) addWrite(edge.from, branchChannel(edge.to), true);
    for (const join of this.joins) {
      if (join.to === END) continue;
      const channel = joinChannel(join.from, join.to);
      channels.set(channel, barrier(join.from));
      triggers.get(join.to)!.push(channel);
      for (const from of join.from) addWrite(from, channel, from);
    }
    const branches = new Map<string, BranchSpec[]>();
    for (const branch of this.branches)
      branches.set(branch.from, [...(branches.get(branch.from) ?? []), branch]);
    const nodeNames = this.nodes.map((n) => n.name);
    // Static edges and the Command targets nodes declare (`ends`): drawn, and fingerprinted.
    const edges = [
      ...this.edges,
      ...this.nodes.flatMap((n) => (n.ends ?? []).map((to) => ({ from: n.name, to }))),
    ];
    const deploy = resolveDeploy(options, {
      stateChannels: new Map(Object.entries(this.state)),
      nodes: nodeNames,
      edges,
      joins: this.joins,
      branches: this.branches.map((b) => ({
        from: b.from,
        ...(b.pathMap ? { targets: Object.values(b.pathMap) } : {}),
      })),
    });
    return {
      deploy,
      state: this.state,
      stateKeys: Object.keys(this.state),
      channels,
      untracked: new Set([...channels].filter(([, spec]) => !spec.persisted).map(([name]) => name)),
      accumulating: new Set(
        [...channels]
          .filter(([, spec]) => spec.kind === "reducer" || spec.kind === "topic")
          .map(([name]) => name),
      ),
      nodes: new Map(this.nodes.map((node) => [node.name, node])),
      plannerNodes: this.nodes.map((node) => ({
        name: node.name,
        triggers: triggers.get(node.name)!,
        ...(node.defer === true ? { defer: true } : {}),
      })),
      edgeWrites,
      branches,
      shape: {
        nodes: nodeNames,
        edges,
        joins: this.joins,
        branches: this.branches.map((b) => ({
          from: b.from,
          targets: b.pathMap
            ? [...new Set(Object.values(b.pathMap))]
            : [...this.nodes.map((n) => n.name), END],
          ...(b.pathMap
            ? {
                labels: Object.fromEntries(
                  Object.entries(b.pathMap)
                    .filter(([k, v]) => k !== v)
                    .map(([k, v]) => [v, k]),
                ),
              }
            : {}),
        })),
      },
    };
  }
}

/**
 * Why a state key or node name cannot be stored, if it cannot. Each becomes a
 * channel name (a node's is `branch:to:<node>`, hence `prefix`), so it must
 * pass the checkpointers' identity rule. A name that every object inherits
 * (`toString`, `constructor`, `__proto__`, …) is refused too: the runtime
 * keeps per-channel maps (versions, versions seen) in plain objects, where
 * such a name would read an inherited function instead of a version.
 */
function nameProblem(name: unknown, prefix = ""): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "must be a non-empty string";
  if (prefix.length + name.length > MAX_ID_LENGTH) {
    return `is longer than ${MAX_ID_LENGTH - prefix.length} characters (stored names hold at most ${MAX_ID_LENGTH})`;
  }
  if (name.includes("\u0000")) return "contains a NUL character, which no checkpointer stores";
  if (!isValidId(name)) {
    return "is not well-formed Unicode (it holds a lone surrogate, which no checkpointer stores exactly)";
  }
  if (name === "__proto__") {
    return "is reserved: it would set an object's prototype rather than a key (prototype pollution)";
  }
  if (name === "prototype" || name in Object.prototype) {
    return `is reserved: every JavaScript object has a "${name}" property, which the runtime's maps of channels would read as a value`;
  }
  return undefined;
}

/**
 * What runs for a node: its function, a compiled graph's, or a call of a
 * runnable's `invoke`. Anything else is refused now, naming the node, rather
 * than when the node first runs.
 */
function nodeFunction(name: string, run: unknown): NodeFunction<never, unknown> {
  if (run instanceof CompiledGraph) return run.asNode();
  if (typeof run === "function") return run as NodeFunction<never, unknown>;
  if (isRunnableLike(run)) {
    return (state, ctx) =>
      run.invoke(state, { signal: ctx.signal, configurable: { thread_id: ctx.threadId } });
  }
  const what = describe(run);
  throw new GraphValidationError(
    `node ${quote(name)} is ${what === "an object" ? "an object without an invoke method" : what}: a node is a function (state, ctx) => update, a compiled graph, or an object with an invoke(input, config) method (a LangChain Runnable)`,
    { node: nameInData(name) },
  );
}

/** A LangChain Runnable, told by its shape: core does not depend on @langchain/core. */
function isRunnableLike(value: unknown): value is RunnableLike<never, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { invoke?: unknown }).invoke === "function"
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return typeof value === "undefined" ? "undefined" : `a ${typeof value}`;
}

/** A name in an error's data: as given, unless it could not be stored (then quoted, as in the message). */
function nameInData(name: unknown): string {
  return typeof name === "string" && isValidId(name) ? name : quote(name);
}

/** A name in an error message, escaped so that the message itself can be stored. */
function quote(name: unknown): string {
  return typeof name === "string"
    ? JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)
    : String(name);
}
