import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, interrupt, lastValue, reducer } from "@waypoint/core";
import { STORES, collect } from "./support/stores.js";

/**
 * getStateHistory reads a chain with one load and replays it forward once
 * (pregel/state-reads.ts). Whatever a thread went through (runs, pauses,
 * edits, forks from older checkpoints), each checkpoint it lists must equal
 * what getState gives for that checkpoint alone, which loads it by itself.
 */
const State = defineState({
  log: reducer(
    (all: string[], entry: string) => [...all, entry],
    () => [] as string[],
  ),
  count: lastValue<number>(),
});

function graphOn(checkpointer: Checkpointer) {
  return new StateGraph(State)
    .addNode("write", (s) => ({ log: `w${s.count ?? 0}`, count: (s.count ?? 0) + 1 }))
    .addNode("ask", (s) => {
      if ((s.count ?? 0) % 3 === 0) interrupt("again?");
      return { log: "asked" };
    })
    .addEdge(START, "write")
    .addEdge("write", "ask")
    .addEdge("ask", END)
    .compile({ checkpointer });
}

type Op =
  | { readonly kind: "invoke"; readonly entry: string }
  | { readonly kind: "continue" }
  | { readonly kind: "edit"; readonly count: number }
  | { readonly kind: "fork"; readonly back: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("invoke" as const), entry: fc.string({ maxLength: 5 }) }),
  fc.record({ kind: fc.constant("continue" as const) }),
  fc.record({ kind: fc.constant("edit" as const), count: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant("fork" as const), back: fc.integer({ min: 1, max: 12 }) }),
);

async function apply(graph: ReturnType<typeof graphOn>, threadId: string, step: Op) {
  switch (step.kind) {
    case "invoke":
      await graph.invoke({ log: step.entry }, { threadId });
      return;
    case "continue":
      if ((await graph.getState(threadId)) !== undefined) await graph.invoke(null, { threadId });
      return;
    case "edit":
      await graph.updateState(threadId, { count: step.count });
      return;
    case "fork": {
      const history = await collect(graph.getStateHistory(threadId));
      const from = history[Math.min(step.back, history.length - 1)];
      if (from !== undefined)
        await graph.updateState(threadId, { log: "forked" }, { checkpointId: from.checkpointId });
    }
  }
}

describe.each(STORES)("getStateHistory on $name", (store) => {
  it("lists each checkpoint as getState shows it alone, after random runs, edits and forks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const checkpointer = store.create();
        const graph = graphOn(checkpointer);
        await graph.invoke({ log: "start" }, { threadId: "t" });
        for (const step of ops) await apply(graph, "t", step);
        const history = await collect(graph.getStateHistory("t"));
        for (const [index, snapshot] of history.entries()) {
          const alone = await graph.getState("t", { checkpointId: snapshot.checkpointId });
          expect(snapshot).toEqual(alone);
          // Pages give the same checkpoints as the whole list.
          if (index > 0) {
            const page = await collect(
              graph.getStateHistory("t", { before: history[index - 1]!.checkpointId, limit: 3 }),
            );
            expect(page[0]).toEqual(snapshot);
          }
        }
      }),
      { numRuns: store.name === "memory" ? 60 : 15, seed: 22 },
    );
  }, 120_000);

  it("reads a long chain's history without a load per checkpoint", async () => {
    const inner = store.create();
    let gets = 0;
    const counted = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === "get")
          return (...args: Parameters<Checkpointer["get"]>) => {
            gets += 1;
            return target.get(...args);
          };
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? (value as () => unknown).bind(target) : value;
      },
    });
    const graph = graphOn(counted);
    for (let i = 0; i < 40; i += 1) await graph.invoke({ log: `run ${i}` }, { threadId: "long" });
    gets = 0;
    const history = await collect(graph.getStateHistory("long"));
    expect(history.length).toBeGreaterThan(100);
    // One load per chain and per chain base, not one per checkpoint.
    expect(gets).toBeLessThan(history.length / 10);
  });
});

it("falls back to one get per checkpoint on a store without getPendingWrites", async () => {
  const inner = new MemoryCheckpointer();
  const plain = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "getPendingWrites") return undefined;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
  const withGetPending = graphOn(inner);
  const without = graphOn(plain);
  for (let i = 0; i < 5; i += 1)
    await withGetPending.invoke({ log: `run ${i}` }, { threadId: "t" });
  expect(await collect(without.getStateHistory("t"))).toEqual(
    await collect(withGetPending.getStateHistory("t")),
  );
});
