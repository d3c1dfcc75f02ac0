import { afterEach, describe, expect, it } from "vitest";
import { Command, END, START, StateGraph, defineState, interrupt, lastValue } from "@waypoint/core";
import { armFault, disarmFaults } from "@waypoint/core/testing";
import { appendLog, DedupSink, STORES } from "./support/stores.js";

const State = defineState({
  note: lastValue<string>(),
  log: appendLog(),
});

afterEach(() => disarmFaults());

describe.each(STORES)("time travel and idempotency keys on $name", (store) => {
  function charging(sink: DedupSink, ask = false) {
    return new StateGraph(State)
      .addNode("plan", (s) => ({ log: `plan ${s.note}` }))
      .addNode("pay", async (_s, ctx) => {
        const receipt = await ctx.effect("charge", ({ idempotencyKey }) =>
          sink.apply(idempotencyKey, "charge"),
        );
        const answer = ask ? interrupt<string>("confirm?") : "auto";
        return { log: `${receipt} ${answer}` };
      })
      .addEdge(START, "plan")
      .addEdge("plan", "pay")
      .addEdge("pay", END)
      .compile({ checkpointer: store.create() });
  }

  async function checkpointWithNext(
    graph: ReturnType<typeof charging>,
    node: string,
  ): Promise<string> {
    for await (const snapshot of graph.getStateHistory("t"))
      if (snapshot.next.includes(node)) return snapshot.checkpointId;
    throw new Error(`no checkpoint plans ${node}`);
  }

  it("a replay from before an interrupt writes its branch, which becomes the head, and the pause there is resumable", async () => {
    const sink = new DedupSink();
    const graph = charging(sink, true);
    await graph.invoke({ note: "x" }, { threadId: "t" });
    await graph.invoke(new Command({ resume: "first" }), { threadId: "t" });
    const oldHead = await graph.getState("t");
    const beforePay = await checkpointWithNext(graph, "pay");

    const replay = await graph.invoke(null, { threadId: "t", checkpointId: beforePay });
    expect(replay.__interrupt__).toHaveLength(1);
    const head = await graph.getState("t");
    expect(head?.checkpointId).not.toBe(oldHead?.checkpointId);
    expect(head?.metadata.source).toBe("fork");
    expect(head?.parentCheckpointId).toBe(beforePay);
    expect(head?.interrupts.map((i) => i.id)).toEqual(replay.__interrupt__!.map((i) => i.id));

    const done = await graph.invoke(new Command({ resume: "second" }), { threadId: "t" });
    expect(done.log).toEqual(["plan x", expect.stringMatching(/ second$/)]);
    // The old branch is as it was.
    const old = await graph.getState("t", { checkpointId: oldHead!.checkpointId });
    expect(old?.values.log).toEqual(["plan x", expect.stringMatching(/ first$/)]);
  });

  it("a resume given an older checkpoint is refused before anything is written", async () => {
    const sink = new DedupSink();
    const graph = charging(sink, true);
    await graph.invoke({ note: "x" }, { threadId: "t" });
    const beforePlan = await checkpointWithNext(graph, "plan");
    const head = await graph.getState("t");
    expect(beforePlan).not.toBe(head?.checkpointId);
    await expect(
      graph.invoke(new Command({ resume: "yes" }), { threadId: "t", checkpointId: beforePlan }),
    ).rejects.toMatchObject({ code: "INVALID_RESUME" });
    expect((await graph.getState("t"))?.checkpointId).toBe(head?.checkpointId);
  });

  it("a branch gets keys of its own: the replayed effect is applied again by a service that dedups by key", async () => {
    const sink = new DedupSink();
    const graph = charging(sink);
    await graph.invoke({ note: "x" }, { threadId: "t" });
    expect(sink.applied.size).toBe(1);
    const beforePay = await checkpointWithNext(graph, "pay");
    await graph.invoke(null, { threadId: "t", checkpointId: beforePay });
    expect(sink.calls).toHaveLength(2);
    expect(sink.applied.size).toBe(2);

    // So does an edit that starts a branch from the past.
    await graph.updateState("t", { note: "y" }, { checkpointId: beforePay });
    await graph.invoke(null, { threadId: "t" });
    expect(sink.applied.size).toBe(3);
  });

  it("resuming the head after a crash between the effect and its record keeps the key, so the service applies it once", async () => {
    const sink = new DedupSink();
    const graph = charging(sink);
    armFault("after-effect-before-record", "throw");
    await expect(graph.invoke({ note: "x" }, { threadId: "t" })).rejects.toThrow(/injected fault/);
    await graph.invoke(null, { threadId: "t" });
    expect(sink.calls).toHaveLength(2);
    expect(sink.calls[0]).toBe(sink.calls[1]);
    expect(sink.applied.size).toBe(1);
  });

  it("a plain edit at the head keeps a pending task's keys", async () => {
    const sink = new DedupSink();
    const graph = charging(sink);
    armFault("after-effect-before-record", "throw");
    await expect(graph.invoke({ note: "x" }, { threadId: "t" })).rejects.toThrow(/injected fault/);
    await graph.updateState("t", { note: "edited" });
    await graph.invoke(null, { threadId: "t" });
    expect(sink.calls).toHaveLength(2);
    expect(sink.applied.size).toBe(1);
  });
});
