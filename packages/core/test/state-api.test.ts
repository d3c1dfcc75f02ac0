import { describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  END,
  START,
  StateGraph,
  TerminalError,
  defineState,
  lastValue,
  reducer,
} from "@waypoint/core";

const State = defineState({
  topic: lastValue<string>(),
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
});

function pipeline(checkpointer = new MemoryCheckpointer()) {
  return new StateGraph(State)
    .addNode("research", (s) => ({ log: `research ${s.topic}` }))
    .addNode("write", (s) => ({ log: `write ${s.topic}` }))
    .addNode("review", (s) => ({ log: `review ${s.topic}` }))
    .addEdge(START, "research")
    .addEdge("research", "write")
    .addEdge("write", "review")
    .addEdge("review", END)
    .compile({ checkpointer });
}

describe("state APIs", () => {
  it("getState returns values, the plan, ids, step and metadata; undefined for a new thread", async () => {
    const graph = pipeline();
    expect(await graph.getState("none")).toBeUndefined();
    await graph.invoke({ topic: "otters" }, { threadId: "t" });
    const state = await graph.getState("t");
    expect(state).toMatchObject({
      values: { topic: "otters", log: ["research otters", "write otters", "review otters"] },
      next: [],
      tasks: [],
      interrupts: [],
      step: 2,
      metadata: { source: "loop", step: 2 },
    });
    expect(state?.parentCheckpointId).toBeTypeOf("string");
    expect(state?.createdAt).toBeInstanceOf(Date);
  });

  it("getStateHistory lists every checkpoint newest first, with limit, before and filter", async () => {
    const graph = pipeline();
    await graph.invoke({ topic: "kelp" }, { threadId: "t" });
    const all = [];
    for await (const s of graph.getStateHistory("t")) all.push(s);
    expect(all.map((s) => [s.step, s.next, s.values.log.length])).toEqual([
      [2, [], 3],
      [1, ["review"], 2],
      [0, ["write"], 1],
      [-1, ["research"], 0],
    ]);
    const limited = [];
    for await (const s of graph.getStateHistory("t", { limit: 2, before: all[0]!.checkpointId }))
      limited.push(s.step);
    expect(limited).toEqual([1, 0]);
    const inputs = [];
    for await (const s of graph.getStateHistory("t", { filter: { source: "input" } }))
      inputs.push(s.step);
    expect(inputs).toEqual([-1]);
  });

  it("updateState as a node applies its values through the reducers and follows its edges", async () => {
    const graph = pipeline();
    await graph.invoke({ topic: "tides" }, { threadId: "t" });
    const id = await graph.updateState("t", { log: "late note" }, { asNode: "write" });
    const state = await graph.getState("t");
    expect(state?.checkpointId).toBe(id);
    expect(state?.metadata.source).toBe("update");
    expect(state?.values.log.at(-1)).toBe("late note");
    expect(state?.next).toEqual(["review"]);
    const resumed = await graph.resume("t");
    expect(resumed.log.slice(-2)).toEqual(["late note", "review tides"]);
  });

  it("invoking from an older checkpoint forks: the new branch runs again, the old one is untouched", async () => {
    const graph = pipeline();
    await graph.invoke({ topic: "otters" }, { threadId: "t" });
    const history = [];
    for await (const s of graph.getStateHistory("t")) history.push(s);
    const original = history[0]!;
    const afterResearch = history.find((s) => s.step === 0)!;
    // Change the topic on a fork from the checkpoint after "research", then continue it.
    const forkId = await graph.updateState(
      "t",
      { topic: "kelp" },
      { checkpointId: afterResearch.checkpointId },
    );
    const forked = await graph.invoke(null, { threadId: "t" });
    expect(forked.log).toEqual(["research otters", "write kelp", "review kelp"]);
    const old = await graph.getState("t", { checkpointId: original.checkpointId });
    expect(old?.values.log).toEqual(["research otters", "write otters", "review otters"]);
    const forkPoint = await graph.getState("t", { checkpointId: forkId });
    expect(forkPoint?.parentCheckpointId).toBe(afterResearch.checkpointId);
    // Running from an old checkpoint directly forks too.
    const rerun = await graph.invoke(null, {
      threadId: "t",
      checkpointId: afterResearch.checkpointId,
    });
    expect(rerun.log).toEqual(["research otters", "write otters", "review otters"]);
  });

  it("shows a failed task's error in getState, keeps the thread resumable, and resume retries it", async () => {
    let fail = true;
    const graph = new StateGraph(State)
      .addNode("flaky", () => {
        if (fail) throw new TerminalError("service down", { data: { status: 503 } });
        return { log: "ok" };
      })
      .addEdge(START, "flaky")
      .addEdge("flaky", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("service down");
    const state = await graph.getState("t");
    expect(state?.next).toEqual(["flaky"]);
    expect(state?.tasks[0]?.error).toMatchObject({
      name: "TerminalError",
      code: "TERMINAL",
      message: "service down",
      data: { status: 503 },
    });
    fail = false;
    expect((await graph.resume("t")).log).toEqual(["ok"]);
  });
});
