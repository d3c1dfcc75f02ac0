import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  Command,
  END,
  GraphValidationError,
  INTERRUPT,
  START,
  Send,
  StateGraph,
  defineState,
  interrupt,
  isInterrupted,
  lastValue,
  reducer,
  type CompileOptions,
  type RunnableLikeConfig,
} from "@waypoint/core";
import { STORES, collect } from "./support/stores.js";

// LangGraph.js names a graph written for LangGraph uses, which Waypoint takes unchanged.

const State = defineState({
  topic: lastValue<string>(),
  log: reducer(
    (a: string[], b: string | string[]) => a.concat(b),
    () => [] as string[],
  ),
});

describe.each(STORES)("isInterrupted and INTERRUPT on $name", (store) => {
  it("isInterrupted tells a paused result from a finished one, and INTERRUPT is its key", async () => {
    expect(INTERRUPT).toBe("__interrupt__");
    const graph = new StateGraph(State)
      .addNode("ask", () => ({ topic: interrupt<string>("topic?") }))
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile({ checkpointer: store.create() });
    const paused = await graph.invoke({}, { threadId: "t" });
    expect(isInterrupted(paused)).toBe(true);
    if (!isInterrupted<string>(paused)) throw new Error("unreachable");
    expectTypeOf(paused[INTERRUPT][0]!.value).toEqualTypeOf<string>();
    expect(paused[INTERRUPT].map((i) => i.value)).toEqual(["topic?"]);

    const done = await graph.invoke(new Command({ resume: "otters" }), { threadId: "t" });
    expect(isInterrupted(done)).toBe(false);
    expect(done.topic).toBe("otters");
  });

  it("isInterrupted is true at a static pause, in invoke's result and in a stream's chunk", async () => {
    const graph = new StateGraph(State)
      .addNode("work", () => ({ log: "work" }))
      .addEdge(START, "work")
      .addEdge("work", END)
      .compile({ checkpointer: store.create(), interruptBefore: ["work"] });
    expect(isInterrupted(await graph.invoke({}, { threadId: "a" }))).toBe(true);
    const chunks = await collect(graph.stream({}, { threadId: "b", streamMode: "updates" }));
    expect(chunks.filter((chunk) => isInterrupted(chunk))).toHaveLength(1);
  });
});

describe.each(STORES)(
  "setEntryPoint, setFinishPoint and addConditionalEdges({ source, path, pathMap }) on $name",
  (store) => {
    it("setEntryPoint and setFinishPoint add the edges from START and to END", async () => {
      const graph = new StateGraph(State)
        .addNode("one", () => ({ log: "one" }))
        .addNode("two", () => ({ log: "two" }))
        .setEntryPoint("one")
        .addEdge("one", "two")
        .setFinishPoint("two")
        .compile({ checkpointer: store.create() });
      expect((await graph.invoke({ topic: "t" }, { threadId: "t" })).log).toEqual(["one", "two"]);
      expect(graph.getGraph().edges).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ source: START, target: "one" }),
          expect.objectContaining({ source: "two", target: END }),
        ]),
      );
    });

    it("addConditionalEdges takes LangGraph's object form, with a list or a record as its path map", async () => {
      const build = (form: "positional" | "object", pathMap: "list" | "record") => {
        const path = (s: { topic?: string }) => (s.topic === "left" ? "left" : "right");
        const map = pathMap === "list" ? ["left", "right"] : { left: "left", right: "right" };
        const graph = new StateGraph(State)
          .addNode("start", () => ({ log: "start" }))
          .addNode("left", () => ({ log: "left" }))
          .addNode("right", () => ({ log: "right" }))
          .addEdge(START, "start")
          .addEdge("left", END)
          .addEdge("right", END);
        return (
          form === "object"
            ? graph.addConditionalEdges({ source: "start", path, pathMap: map })
            : graph.addConditionalEdges("start", path, map)
        ).compile({ checkpointer: store.create() });
      };
      for (const pathMap of ["list", "record"] as const) {
        for (const topic of ["left", "up"]) {
          const positional = await build("positional", pathMap).invoke(
            { topic },
            { threadId: "t" },
          );
          const object = await build("object", pathMap).invoke({ topic }, { threadId: "t" });
          expect(object).toEqual(positional);
          expect(object.log).toEqual(["start", topic === "left" ? "left" : "right"]);
        }
      }
    });
  },
);

describe("LangGraph's object form of addConditionalEdges", () => {
  it("checks its path map's nodes, and refuses a missing path", () => {
    const base = () =>
      new StateGraph(State)
        .addNode("a", () => ({}))
        .addEdge(START, "a")
        .addEdge("a", END);
    expect(() =>
      base()
        .addConditionalEdges({ source: "a", path: () => "nowhere", pathMap: ["nowhere"] })
        .compile(),
    ).toThrow(/the path map of "a" names unknown node "nowhere"/);
    expect(() => base().addConditionalEdges({ source: "a" } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_GRAPH", data: { node: "a" } }),
    );
    expect(() => base().addConditionalEdges("a", undefined as never)).toThrow(
      /the path of the conditional edge from "a" is undefined/,
    );
  });
});

describe('"*" in interruptBefore and interruptAfter', () => {
  it.each(STORES)("pauses before (or after) every node on $name", async (store) => {
    const build = (options: CompileOptions) =>
      new StateGraph(State)
        .addNode("one", () => ({ log: "one" }))
        .addNode("two", () => ({ log: "two" }))
        .addEdge(START, "one")
        .addEdge("one", "two")
        .addEdge("two", END)
        .compile({ checkpointer: store.create(), ...options });
    for (const [option, kind] of [
      ["interruptBefore", "before"],
      ["interruptAfter", "after"],
    ] as const) {
      const graph = build({ [option]: "*" });
      const pauses: string[] = [];
      let result = await graph.invoke({}, { threadId: "t" });
      while (isInterrupted(result)) {
        pauses.push(...result[INTERRUPT].map((i) => `${i.kind} ${i.node}`));
        result = await graph.invoke(null, { threadId: "t" });
      }
      expect(pauses).toEqual([`${kind} one`, `${kind} two`]);
      expect(result.log).toEqual(["one", "two"]);
    }
  });

  it("refuses another string", () => {
    const graph = new StateGraph(State)
      .addNode("a", () => ({}))
      .addEdge(START, "a")
      .addEdge("a", END);
    for (const value of ["all", "a", ["*"]]) {
      expect(() => graph.compile({ interruptBefore: value as never })).toThrow(
        expect.objectContaining({
          code: value === "all" || value === "a" ? "INVALID_ARGUMENT" : "INVALID_GRAPH",
        }),
      );
    }
  });

  it("pauses where the full list of node names pauses, in random graphs (property)", async () => {
    // A random DAG: node 0 follows START, each other node an earlier one (its
    // parent), and each node may have edges to later nodes or END (index count).
    const graphs = fc.integer({ min: 1, max: 4 }).chain((count) =>
      fc.record({
        count: fc.constant(count),
        parents: fc.tuple(...Array.from({ length: count }, (_, i) => fc.nat(Math.max(0, i - 1)))),
        targets: fc.array(fc.subarray(Array.from({ length: count + 1 }, (_, i) => i)), {
          minLength: count,
          maxLength: count,
        }),
        option: fc.constantFrom("interruptBefore" as const, "interruptAfter" as const),
      }),
    );
    await fc.assert(
      fc.asyncProperty(graphs, async ({ count, parents, targets, option }) => {
        const names = Array.from({ length: count }, (_, i) => `n${i}`);
        const edges = new Set<string>();
        names.forEach((_, i) => {
          if (i > 0) edges.add(`${parents[i]}>${i}`);
          for (const t of targets[i]!.filter((t) => t > i)) edges.add(`${i}>${t}`);
        });
        const build = (nodes: "*" | readonly string[]) => {
          const graph = new StateGraph(State);
          for (const name of names) graph.addNode(name, () => ({ log: name }));
          graph.addEdge(START, "n0");
          for (const edge of edges) {
            const [from, to] = edge.split(">").map(Number) as [number, number];
            graph.addEdge(names[from]!, to === count ? END : names[to]!);
          }
          names.forEach((name, i) => {
            if (![...edges].some((edge) => edge.startsWith(`${i}>`))) graph.addEdge(name, END);
          });
          return graph.compile({ checkpointer: new MemoryCheckpointer(), [option]: nodes });
        };
        const run = async (nodes: "*" | readonly string[]) => {
          const graph = build(nodes);
          const pauses: string[][] = [];
          let result = await graph.invoke({}, { threadId: "t" });
          for (let i = 0; isInterrupted(result) && i < 20; i += 1) {
            pauses.push(result[INTERRUPT].map((p) => `${p.kind} ${p.node}`).sort());
            result = await graph.invoke(null, { threadId: "t" });
          }
          return { pauses, log: result.log };
        };
        const every = await run("*");
        expect(every).toEqual(await run(names));
        // Every step paused: each node that ran was paused at.
        const paused = new Set(every.pauses.flat().map((p) => p.split(" ")[1]));
        expect(new Set(every.log)).toEqual(paused);
      }),
      { numRuns: 25 },
    );
  });
});

/** A stand-in for a LangChain Runnable: a class whose `invoke` reads `this`. */
class Shout {
  readonly calls: { input: unknown; config: RunnableLikeConfig }[] = [];
  constructor(private readonly suffix: string) {}
  async invoke(input: { topic?: string }, config: RunnableLikeConfig) {
    this.calls.push({ input, config });
    await Promise.resolve();
    return { log: `${input.topic?.toUpperCase()}${this.suffix}` };
  }
}

function addNodeError(run: unknown): GraphValidationError {
  let thrown: unknown;
  try {
    new StateGraph(State).addNode("bad", run as never);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(GraphValidationError);
  return thrown as GraphValidationError;
}

describe.each(STORES)("a Runnable as a node on $name", (store) => {
  it("a Runnable (an object with invoke) is a node: it gets the state, the node's signal and thread, and returns the update", async () => {
    const shout = new Shout("!");
    const graph = new StateGraph(State)
      .addNode("shout", shout)
      .addEdge(START, "shout")
      .addEdge("shout", END)
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke({ topic: "otters" }, { threadId: "t" });
    expect(result.log).toEqual(["OTTERS!"]);
    expect(shout.calls).toHaveLength(1);
    expect(shout.calls[0]!.input).toEqual({ topic: "otters", log: [] });
    expect(shout.calls[0]!.config.signal).toBeInstanceOf(AbortSignal);
    expect(shout.calls[0]!.config.configurable).toEqual({ thread_id: "t" });
    expect((await graph.getState("t"))?.values.log).toEqual(["OTTERS!"]);
  });
});

describe("Runnable nodes", () => {
  it("a Runnable in addSequence, and as a Send's target (it gets the payload)", async () => {
    const each = { invoke: (item: { topic: string }) => ({ log: `item ${item.topic}` }) };
    const graph = new StateGraph(State)
      .addSequence([
        ["first", new Shout("?")],
        ["fan", () => ({})],
      ])
      .addNode("each", each)
      .addEdge(START, "first")
      .addConditionalEdges("fan", () => [new Send("each", { topic: "a" })])
      .addEdge("each", END)
      .compile();
    expect((await graph.invoke({ topic: "x" })).log).toEqual(["X?", "item a"]);
  });

  it("a Runnable node's signal aborts when the node times out", async () => {
    let aborted = false;
    const slow = {
      invoke: (_: unknown, config: RunnableLikeConfig) =>
        new Promise<{ log?: string }>((resolve) => {
          config.signal.addEventListener("abort", () => {
            aborted = true;
            resolve({});
          });
        }),
    };
    const graph = new StateGraph(State)
      .addNode("slow", slow, { timeoutMs: 20 })
      .addEdge(START, "slow")
      .addEdge("slow", END)
      .compile();
    await expect(graph.invoke({})).rejects.toMatchObject({ code: "NODE_TIMEOUT" });
    expect(aborted).toBe(true);
  });

  it("anything else is refused by addNode, naming the node, instead of failing when it runs", () => {
    for (const [run, what] of [
      [{}, "an object without an invoke method"],
      [{ invoke: "no" }, "an object without an invoke method"],
      [42, "a number"],
      ["fn", "a string"],
      [null, "null"],
      [undefined, "undefined"],
      [[() => ({})], "a list"],
    ] as const) {
      const error = addNodeError(run);
      expect(error.code).toBe("INVALID_GRAPH");
      expect(error.message).toContain(`node "bad" is ${what}`);
      expect(error.data).toEqual({ node: "bad" });
    }
  });
});
