import { describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, reducer, type Durability } from "@waypoint/core";

const State = defineState({
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
});

function chain(checkpointer: MemoryCheckpointer) {
  return new StateGraph(State)
    .addNode("a", () => ({ log: "a" }))
    .addNode("b", () => ({ log: "b" }))
    .addNode("c", () => ({ log: "c" }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer });
}

async function count(checkpointer: MemoryCheckpointer, threadId: string): Promise<number> {
  let n = 0;
  for await (const _ of checkpointer.list(threadId)) n += 1;
  return n;
}

describe("durability modes", () => {
  for (const durability of ["sync", "async", "exit"] as Durability[]) {
    it(`${durability}: the same final state, saved and reloadable`, async () => {
      const checkpointer = new MemoryCheckpointer();
      const result = await chain(checkpointer).invoke({}, { threadId: "t", durability });
      expect(result.log).toEqual(["a", "b", "c"]);
      const reloaded = await chain(checkpointer).getState("t");
      expect(reloaded?.values.log).toEqual(["a", "b", "c"]);
      expect(reloaded?.next).toEqual([]);
      expect(await count(checkpointer, "t")).toBe(durability === "exit" ? 1 : 4);
    });
  }

  it("a finished task of a multi-task superstep is not run again when a sibling failed", async () => {
    const runs: string[] = [];
    let failB = true;
    const graph = new StateGraph(State)
      .addNode("a", () => (runs.push("a"), { log: "a" }))
      .addNode("b", () => {
        runs.push("b");
        if (failB) throw new Error("b failed");
        return { log: "b" };
      })
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge("a", END)
      .addEdge("b", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("b failed");
    const state = await graph.getState("t");
    // a's writes were saved when it finished, before b failed.
    expect(state?.tasks.find((t) => t.name === "a")?.writes).toEqual([
      { taskId: expect.any(String) as string, channel: "log", value: "a" },
    ]);
    failB = false;
    const result = await graph.resume("t");
    expect(runs).toEqual(["a", "b", "b"]);
    expect(result.log).toEqual(["a", "b"]);
  });
});

describe("a run reused for the next input on its thread", () => {
  it("notices when another writer moved the thread, reloads, and loses nothing", async () => {
    const checkpointer = new MemoryCheckpointer();
    const first = chain(checkpointer); // this process...
    const second = chain(checkpointer); // ...and another one, sharing the store
    await first.invoke({}, { threadId: "t" });
    await second.invoke({}, { threadId: "t" });
    const third = await first.invoke({}, { threadId: "t" });
    expect(third.log).toEqual(["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
    await first.updateState("t", { log: "edited" });
    expect((await first.invoke({}, { threadId: "t" })).log.slice(-5)).toEqual([
      "c",
      "edited",
      "a",
      "b",
      "c",
    ]);
  });
});

describe("effects under async durability", () => {
  it("wait until the checkpoint their task was planned in is stored", async () => {
    const events: string[] = [];
    // A real MemoryCheckpointer whose writes take a while, as a remote store's do.
    class SlowStore extends MemoryCheckpointer {
      override async put(...args: Parameters<MemoryCheckpointer["put"]>) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const header = await super.put(...args);
        events.push(`stored ${header.step}`);
        return header;
      }
    }
    const graph = new StateGraph(State)
      .addNode("a", async (_s, ctx) => ({
        log: await ctx.effect("e", () => (events.push(`effect in step ${ctx.step}`), "a")),
      }))
      .addNode("b", async (_s, ctx) => ({
        log: await ctx.effect("e", () => (events.push(`effect in step ${ctx.step}`), "b")),
      }))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile({ checkpointer: new SlowStore() });
    await graph.invoke({}, { threadId: "t", durability: "async" });
    // Each effect runs only after the checkpoint before its superstep (step - 1) is stored.
    for (const [index, event] of events.entries()) {
      const step = /effect in step (\d+)/.exec(event)?.[1];
      if (step !== undefined)
        expect(events.slice(0, index)).toContain(`stored ${Number(step) - 1}`);
    }
    expect(events.filter((e) => e.startsWith("effect"))).toEqual([
      "effect in step 0",
      "effect in step 1",
    ]);
  });
});
