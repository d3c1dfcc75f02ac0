import { describe, expect, it } from "vitest";
import { END, START, StateGraph, defineState, lastValue } from "@waypoint/core";
import { STORES } from "./support/stores.js";

const State = defineState({ count: lastValue<number>({ default: () => 0 }) });

/** Busy for `ms` without giving way, as a synchronous node (parsing, scoring) is. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe.each(STORES)("a run of synchronous nodes on $name", (store) => {
  it("gives way to the event loop between supersteps: timers fire and a timeout signal stops it", async () => {
    const graph = new StateGraph(State)
      .addNode("work", (s) => {
        spin(2);
        return { count: s.count + 1 };
      })
      .addEdge(START, "work")
      .addConditionalEdges("work", (s) => (s.count < 300 ? "work" : END))
      .compile({ checkpointer: store.create() });
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    try {
      const result = await graph.invoke(
        {},
        { threadId: "t", recursionLimit: 1000, signal: AbortSignal.timeout(100) },
      );
      // 300 supersteps of 2 ms take 600 ms or more: the timeout stopped the run well before.
      expect(result.count).toBeLessThan(300);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
    // The thread stopped at a superstep boundary and goes on from there.
    const done = await graph.invoke(null, { threadId: "t", recursionLimit: 1000 });
    expect(done.count).toBe(300);
  });
});
