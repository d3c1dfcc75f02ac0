import { describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  Command,
  END,
  START,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
  reducer,
} from "@waypoint/core";

const log = reducer(
  (a: string[], b: string) => [...a, b],
  () => [] as string[],
);

describe("subgraphs", () => {
  it("run as a node, see the parent's shared keys, and hand back only their own writes", async () => {
    const Inner = defineState({ log, topic: lastValue<string>() });
    const inner = new StateGraph(Inner)
      .addNode("research", (s) => ({ log: `research ${s.topic}` }))
      .addNode("draft", () => ({ log: "draft" }))
      .addEdge(START, "research")
      .addEdge("research", "draft")
      .addEdge("draft", END)
      .compile();
    const Outer = defineState({ log, topic: lastValue<string>(), verdict: lastValue<string>() });
    const outer = new StateGraph(Outer)
      .addNode("intro", () => ({ log: "intro" }))
      .addNode("write", inner)
      .addNode("outro", () => ({ log: "outro", verdict: "ok" }))
      .addEdge(START, "intro")
      .addEdge("intro", "write")
      .addEdge("write", "outro")
      .addEdge("outro", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    const result = await outer.invoke({ topic: "otters" }, { threadId: "t" });
    // The shared list is not duplicated: the subgraph returns only its two appends.
    expect(result.log).toEqual(["intro", "research otters", "draft", "outro"]);
    expect(result.verdict).toBe("ok");
  });

  it("interrupt inside a subgraph: the parent pauses, and resume does not re-run the subgraph's finished nodes", async () => {
    const runs: string[] = [];
    const Inner = defineState({ log });
    const inner = new StateGraph(Inner)
      .addNode("fetch", () => (runs.push("fetch"), { log: "fetched" }))
      .addNode("approve", () => {
        runs.push("approve");
        return { log: `approved by ${interrupt<string>("who approves?")}` };
      })
      .addNode("publish", () => (runs.push("publish"), { log: "published" }))
      .addEdge(START, "fetch")
      .addEdge("fetch", "approve")
      .addEdge("approve", "publish")
      .addEdge("publish", END)
      .compile();
    const Outer = defineState({ log });
    const checkpointer = new MemoryCheckpointer();
    const outer = new StateGraph(Outer)
      .addNode("before", () => (runs.push("before"), { log: "before" }))
      .addNode("sub", inner)
      .addNode("after", () => (runs.push("after"), { log: "after" }))
      .addEdge(START, "before")
      .addEdge("before", "sub")
      .addEdge("sub", "after")
      .addEdge("after", END)
      .compile({ checkpointer });
    const paused = await outer.invoke({}, { threadId: "t" });
    expect(paused.__interrupt__?.[0]).toMatchObject({ value: "who approves?", node: "approve" });
    expect(paused.__interrupt__?.[0]?.namespace).toMatch(/^sub:/);
    expect(runs).toEqual(["before", "fetch", "approve"]);
    const state = await outer.getState("t");
    expect(state?.next).toEqual(["sub"]);
    expect(state?.tasks[0]?.interrupts.map((i) => i.id)).toEqual([paused.__interrupt__![0]!.id]);
    expect((await checkpointer.listThreads()).threads[0]?.status).toBe("interrupted");

    const done = await outer.invoke(new Command({ resume: "Grace" }), { threadId: "t" });
    expect(runs).toEqual(["before", "fetch", "approve", "approve", "publish", "after"]);
    expect(done.log).toEqual(["before", "fetched", "approved by Grace", "published", "after"]);
  });

  it("streams the subgraph's events with their namespace when asked", async () => {
    const Inner = defineState({ log });
    const inner = new StateGraph(Inner)
      .addNode("step", () => ({ log: "inner" }))
      .addEdge(START, "step")
      .addEdge("step", END)
      .compile();
    const outer = new StateGraph(defineState({ log }))
      .addNode("sub", inner)
      .addEdge(START, "sub")
      .addEdge("sub", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    const events: unknown[] = [];
    for await (const event of outer.stream(
      {},
      { threadId: "t", streamMode: "updates", subgraphs: true },
    ))
      events.push(event);
    expect(events).toHaveLength(2);
    const [innerEvent, outerEvent] = events as [[string[], unknown], unknown];
    expect(innerEvent[0]).toHaveLength(1);
    expect(innerEvent[0][0]).toMatch(/^sub:/);
    expect(innerEvent[1]).toEqual({ step: { log: "inner" } });
    expect(outerEvent).toEqual([[], { sub: expect.anything() as unknown }]);
    const plain: unknown[] = [];
    for await (const event of outer.stream({}, { threadId: "t2", streamMode: "updates" }))
      plain.push(event);
    expect(plain).toHaveLength(1);
  });
});

describe("subgraphs and the parent's reducer keys", () => {
  it("start from the parent's values as they are, and report their writes as an update", async () => {
    const seen: unknown[] = [];
    const Inner = defineState({ log });
    const inner = new StateGraph(Inner)
      .addNode("peek", (s) => {
        seen.push(s.log);
        return { log: "inner" };
      })
      .addEdge(START, "peek")
      .addEdge("peek", END)
      .compile();
    const outer = new StateGraph(defineState({ log }))
      .addNode("first", () => ({ log: "plan" }))
      .addNode("sub", inner)
      .addEdge(START, "first")
      .addEdge("first", "sub")
      .addEdge("sub", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    const updates: unknown[] = [];
    for await (const update of outer.stream({}, { threadId: "t", streamMode: "updates" }))
      updates.push(update);
    expect(seen).toEqual([["plan"]]); // the parent's list as it is, not folded in as one item
    expect(updates).toEqual([{ first: { log: "plan" } }, { sub: { log: "inner" } }]);
    expect((await outer.getState("t"))?.values.log).toEqual(["plan", "inner"]);
  });
});
