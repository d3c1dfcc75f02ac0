/**
 * The graphs of the human-in-the-loop model test. Every effect goes to an
 * `EffectSink` (it returns `R:<key>`), and every node writes what it got into
 * the `log` topic, so the head's state tells which effects its branch applied:
 * `<label>|R:<key>`, plus `|ans=<answer>` for a node that asked a human.
 * Shared by the test and by the child process of the SIGKILL share.
 */
import type { Checkpointer } from "@waypoint/checkpoint";
import {
  END,
  START,
  Send,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
  topic,
  type CompiledGraph,
  type NodeContext,
} from "@waypoint/core";

export interface EffectSink {
  /** One call of an effect's function: returns what the effect "did". */
  deliver(key: string, slot: string): string;
  /** A node function started (for "a finished task never runs again"). */
  enter(node: string, taskId: string): void;
}

export const State = defineState({
  log: topic<string>(),
  n: lastValue<number>(),
  note: lastValue<string>(),
});
const Inner = defineState({ log: topic<string>() });

export type ModelGraph = CompiledGraph<typeof State>;
export const GRAPH_NAMES = ["fanout", "sends", "nested"] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

export interface GraphInfo {
  /** Nodes `updateState(..., { asNode })` may name. */
  readonly nodes: readonly string[];
  /** What `next` may hold after `asNode: node`; `exact` when it must be all of it. */
  readonly successors: Readonly<
    Record<string, { readonly nodes: string[]; readonly exact: boolean }>
  >;
}

export const GRAPH_INFO: Readonly<Record<GraphName, GraphInfo>> = {
  fanout: {
    nodes: ["a", "b", "c"],
    successors: {
      a: { nodes: ["c"], exact: false },
      b: { nodes: ["c"], exact: false },
      c: { nodes: [], exact: true },
    },
  },
  sends: {
    nodes: ["w", "done"],
    successors: { w: { nodes: ["done"], exact: true }, done: { nodes: [], exact: true } },
  },
  nested: {
    nodes: ["sub", "side", "post"],
    successors: {
      sub: { nodes: ["post"], exact: false },
      side: { nodes: ["post"], exact: false },
      post: { nodes: [], exact: true },
    },
  },
};

/** The key an entry of the log names, if it names one. */
export function keyOfEntry(entry: string): string | undefined {
  return /\|R:([^|]+)/.exec(entry)?.[1];
}

type Ctx = NodeContext;

function effectNode(sink: EffectSink, label: string, slot: string) {
  return async (ctx: Ctx): Promise<string> => {
    sink.enter(label, ctx.taskId);
    const got = await ctx.effect("e", ({ idempotencyKey }) => sink.deliver(idempotencyKey, slot));
    return `${label}|${got}`;
  };
}

function askingNode(sink: EffectSink, label: string, slot: string) {
  const run = effectNode(sink, label, slot);
  return async (ctx: Ctx): Promise<string> => {
    const entry = await run(ctx);
    const answer = interrupt<unknown>(`${label}?`);
    return `${entry}|ans=${String(answer)}`;
  };
}

/** START → [a, b]; a: an effect; b: an effect, then interrupt(); [a, b] → c (interruptBefore). */
function fanout(checkpointer: Checkpointer, sink: EffectSink): ModelGraph {
  const a = effectNode(sink, "a", "a/e");
  const b = askingNode(sink, "b", "b/e");
  const c = effectNode(sink, "c", "c/e");
  return new StateGraph(State)
    .addNode("a", async (_s, ctx) => ({ log: await a(ctx) }))
    .addNode("b", async (_s, ctx) => ({ log: await b(ctx) }))
    .addNode("c", async (_s, ctx) => ({ log: await c(ctx) }))
    .addEdge(START, "a")
    .addEdge(START, "b")
    .addEdge(["a", "b"], "c")
    .addEdge("c", END)
    .compile({ checkpointer, interruptBefore: ["c"] });
}

/**
 * START sends `n` workers, each with an effect; all but the first ask after it
 * (a lone worker asks too), so several interrupts can wait at once; workers → done.
 */
function sends(checkpointer: Checkpointer, sink: EffectSink): ModelGraph {
  const done = effectNode(sink, "done", "done/e");
  return new StateGraph(State)
    .addNode("w", async ({ i, ask }: { i: number; ask: boolean }, ctx) => {
      const run = (ask ? askingNode : effectNode)(sink, `w${i}`, `w#${i}/e`);
      return { log: await run(ctx) };
    })
    .addNode("done", async (_s, ctx) => ({ log: await done(ctx) }))
    .addConditionalEdges(START, (s) =>
      Array.from({ length: s.n ?? 1 }, (_, i) => new Send("w", { i, ask: i > 0 || s.n === 1 })),
    )
    .addEdge("w", "done")
    .addEdge("done", END)
    .compile({ checkpointer });
}

/** START → [sub, side] → post; sub is a subgraph s1 (an effect) → s2 (an effect, then interrupt()). */
function nested(checkpointer: Checkpointer, sink: EffectSink): ModelGraph {
  const s1 = effectNode(sink, "s1", "sub.s1/e");
  const s2 = askingNode(sink, "s2", "sub.s2/e");
  const side = effectNode(sink, "side", "side/e");
  const post = effectNode(sink, "post", "post/e");
  const sub = new StateGraph(Inner)
    .addNode("s1", async (_s, ctx) => ({ log: await s1(ctx) }))
    .addNode("s2", async (_s, ctx) => ({ log: await s2(ctx) }))
    .addEdge(START, "s1")
    .addEdge("s1", "s2")
    .addEdge("s2", END)
    .compile();
  return new StateGraph(State)
    .addNode("sub", sub)
    .addNode("side", async (_s, ctx) => ({ log: await side(ctx) }))
    .addNode("post", async (_s, ctx) => ({ log: await post(ctx) }))
    .addEdge(START, "sub")
    .addEdge(START, "side")
    .addEdge(["sub", "side"], "post")
    .addEdge("post", END)
    .compile({ checkpointer });
}

export function buildGraph(name: GraphName, checkpointer: Checkpointer, sink: EffectSink) {
  return { fanout, sends, nested }[name](checkpointer, sink);
}
