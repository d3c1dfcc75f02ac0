import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Checkpointer } from "@waypoint/checkpoint";
import {
  END,
  START,
  Send,
  StateGraph,
  defineState,
  lastValue,
  reducer,
  type Durability,
} from "@waypoint/core";
import { APPEND_MARKS } from "@waypoint/core/inspect";
import { MARK_EVERY } from "../src/pregel/append-marks.js";
import { STORES } from "./support/stores.js";

/**
 * Append marks (pregel/append-marks.ts) let a load concatenate a list key's
 * writes instead of calling its reducer once per write. Whatever the reducer
 * does (append, spread, trim, sort, replace, prepend, change its input in
 * place), a state rebuilt with marks must equal the same state rebuilt
 * through the reducer alone. Two readers give the two: getState at a
 * checkpoint replays with marks; getStateHistory replays each chain forward
 * through the reducer (it leaves the runtime's channels out).
 */
type Item = number | number[];

const REDUCERS: Record<string, (list: number[], item: Item) => number[]> = {
  append: (list, item) => [...list, item as number],
  spread: (list, item) => [...list, ...(Array.isArray(item) ? item : [item])],
  concat: (list, item) => list.concat(item),
  trim: (list, item) => [...list, item as number].slice(-5),
  sort: (list, item) => [...list, item as number].sort((a, b) => a - b),
  dedupe: (list, item) => (list.includes(item as number) ? list : [...list, item as number]),
  // Appends mostly: a mark may be due in a span where it did not.
  replaceSome: (list, item) =>
    (item as number) % 7 === 0 && list.length > 0
      ? [...list.slice(0, -1), item as number]
      : [...list, item as number],
  prepend: (list, item) => [item as number, ...list],
  inPlace: (list, item) => {
    list.push(item as number);
    return list;
  },
};

function graphOf(checkpointer: Checkpointer, kind: string) {
  const fn = REDUCERS[kind]!;
  let calls = 0;
  const State = defineState({
    items: reducer(
      (list: number[], item: Item) => {
        calls += 1;
        return fn(list, item);
      },
      () => [] as number[],
    ),
    batch: lastValue<Item[]>(),
    runs: reducer(
      (total: number, add: number) => total + add,
      () => 0,
    ),
  });
  const graph = new StateGraph(State)
    .addNode("fan", () => ({ runs: 1 }))
    .addNode("add", (item: { item: Item }) => ({ items: item.item }))
    .addEdge(START, "fan")
    .addConditionalEdges("fan", (state) =>
      (state.batch ?? []).length === 0
        ? END
        : (state.batch ?? []).map((item) => new Send("add", { item })),
    )
    .addEdge("add", END)
    .compile({ checkpointer });
  return { graph, calls: () => calls };
}

const item = (spread: boolean): fc.Arbitrary<Item> =>
  spread
    ? fc.array(fc.integer({ min: -20, max: 40 }), { maxLength: 3 })
    : fc.integer({ min: -20, max: 40 });

const ops = (spread: boolean) =>
  fc.array(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constant("invoke" as const),
          batch: fc.array(item(spread), { maxLength: 3 }),
          durability: fc.constantFrom<Durability>("sync", "sync", "async", "exit"),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant("edit" as const), item: item(spread) }),
      },
    ),
    { minLength: 10, maxLength: 60 },
  );

describe.each(STORES)("append marks on $name", (store) => {
  const runs = store.name === "memory" ? 40 : 12;

  it("a state rebuilt with marks equals the reducer's replay, at every checkpoint, for any reducer", async () => {
    await fc.assert(
      fc.asyncProperty(
        // A reducer that changes its input in place breaks replay with or without marks (architecture.md).
        fc
          .constantFrom(...Object.keys(REDUCERS).filter((kind) => kind !== "inPlace"))
          .chain((kind) =>
            ops(kind === "spread" || kind === "concat").map((list) => ({ kind, list })),
          ),
        async ({ kind, list }) => {
          const checkpointer = store.create();
          const { graph } = graphOf(checkpointer, kind);
          let last: number[] = [];
          for (const op of list) {
            if (op.kind === "invoke") {
              const out = await graph.invoke(
                { batch: op.batch },
                { threadId: "t", durability: op.durability },
              );
              last = out.items;
            } else {
              await graph.updateState("t", { items: op.item });
              last = (await graph.getState("t"))!.values.items;
            }
          }
          // A fresh graph: nothing of the run's memory.
          const fresh = graphOf(checkpointer, kind).graph;
          expect((await fresh.getState("t"))!.values.items).toEqual(last);
          for await (const snapshot of fresh.getStateHistory("t")) {
            const at = await fresh.getState("t", { checkpointId: snapshot.checkpointId });
            expect(at!.values.items).toEqual(snapshot.values.items);
          }
        },
      ),
      { numRuns: runs, seed: 2207 },
    );
  }, 120_000);

  it("a long thread of appends loads with a reducer call per unmarked write only", async () => {
    const checkpointer = store.create();
    const { graph } = graphOf(checkpointer, "append");
    const expected: number[] = [];
    for (let i = 0; i < 60; i += 1) {
      const batch = [i * 2, i * 2 + 1];
      await graph.invoke({ batch }, { threadId: "long" });
      expected.push(...batch);
    }
    // 60 invokes, 3 checkpoints each: marks every MARK_EVERY of them.
    const fresh = graphOf(checkpointer, "append");
    expect((await fresh.graph.getState("long"))!.values.items.toSorted((a, b) => a - b)).toEqual(
      expected,
    );
    // Without marks every one of the 120 writes would be a reducer call.
    expect(fresh.calls()).toBeLessThanOrEqual(2 * MARK_EVERY);
    // The marks are the runtime's own: a snapshot's tasks and writes never show them.
    const loaded = await checkpointer.get("long");
    const marked = loaded!.deltas.filter((delta) =>
      delta.writes.some((write) => write.channel === APPEND_MARKS),
    );
    expect(marked.length).toBeGreaterThan(0);
    for await (const snapshot of fresh.graph.getStateHistory("long")) {
      expect(JSON.stringify(snapshot.tasks)).not.toContain(APPEND_MARKS);
      expect(Object.keys(snapshot.values)).not.toContain(APPEND_MARKS);
    }
  }, 60_000);

  it("a reducer that does not append gets no marks", async () => {
    for (const kind of ["trim", "sort", "prepend", "inPlace"]) {
      const checkpointer = store.create();
      const { graph } = graphOf(checkpointer, kind);
      for (let i = 0; i < 40; i += 1)
        await graph.invoke({ batch: [i, 100 - i] }, { threadId: "t" });
      const loaded = await checkpointer.get("t");
      const marks = loaded!.deltas.flatMap((delta) =>
        delta.writes.filter((write) => write.channel === APPEND_MARKS),
      );
      expect(marks, kind).toEqual([]);
    }
  }, 60_000);
});

describe("append marks that do not fit what a load replays", () => {
  it("fall back to the reducer: a mark whose counts were changed is not trusted", async () => {
    const store = STORES[0]!;
    const checkpointer = store.create();
    const { graph } = graphOf(checkpointer, "append");
    for (let i = 0; i < 40; i += 1) await graph.invoke({ batch: [i] }, { threadId: "t" });
    const expected = (await graph.getState("t"))!.values.items;
    // A reader that damages every mark's write count: the load must not concatenate.
    const damaged: Checkpointer = Object.create(checkpointer) as Checkpointer;
    damaged.get = async (threadId, options) => {
      const loaded = await checkpointer.get(threadId, options);
      if (loaded === undefined) return undefined;
      return {
        ...loaded,
        deltas: loaded.deltas.map((delta) => ({
          ...delta,
          writes: delta.writes.map((write) =>
            write.channel === APPEND_MARKS
              ? {
                  ...write,
                  value: Object.fromEntries(
                    Object.entries(write.value as Record<string, { writes: number }>).map(
                      ([key, mark]) => [key, { ...mark, writes: mark.writes + 1 }],
                    ),
                  ),
                }
              : write,
          ),
        })),
      };
    };
    const fresh = graphOf(damaged, "append");
    expect((await fresh.graph.getState("t"))!.values.items).toEqual(expected);
    expect(fresh.calls()).toBe(40);
  });
});
