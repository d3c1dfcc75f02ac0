import { createHook } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, reducer } from "@waypoint/core";

const State = defineState({
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
});

/** A chain of `length` synchronous nodes, each appending its name. */
function chain(length: number) {
  const names = Array.from({ length }, (_, i) => `n${i}`);
  const builder = new StateGraph(State);
  for (const name of names) builder.addNode(name, () => ({ log: name }));
  builder.addEdge(START, names[0]!);
  names.slice(1).forEach((name, i) => builder.addEdge(names[i]!, name));
  builder.addEdge(names.at(-1)!, END);
  return builder.compile({ checkpointer: new MemoryCheckpointer() });
}

/** The promises made by the second invoke of a chain on one thread. */
async function promisesOfInvoke(length: number): Promise<number> {
  const graph = chain(length);
  await graph.invoke({}, { threadId: "t", recursionLimit: 100 });
  let promises = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === "PROMISE") promises += 1;
    },
  }).enable();
  try {
    const result = await graph.invoke({}, { threadId: "t", recursionLimit: 100 });
    expect(result.log).toHaveLength(2 * length);
  } finally {
    hook.disable();
  }
  return promises;
}

describe("a superstep of one synchronous node", () => {
  // Every promise costs a turn of the microtask queue and, once an
  // AsyncLocalStorage is on (the runtime's is), a call of Node's promise hooks.
  it("makes no promise besides its put's: the store's, its callback's and the loop's await", async () => {
    const perSuperstep = ((await promisesOfInvoke(30)) - (await promisesOfInvoke(10))) / 20;
    // MemoryCheckpointer's put makes one; the runtime two (its callback, the await); it made 12 before.
    expect(perSuperstep).toBeLessThanOrEqual(3.5);
  });
});
