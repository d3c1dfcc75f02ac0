import { describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  Command,
  END,
  InvalidResumeError,
  START,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
  reducer,
} from "@waypoint/core";

const State = defineState({
  draft: lastValue<string>(),
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
});

describe("interrupts", () => {
  it("pauses at interrupt(), shows it in getState, and resumes with the value; the node runs again from its first line", async () => {
    const runs: string[] = [];
    const graph = new StateGraph(State)
      .addNode("review", (s) => {
        runs.push("review started");
        const verdict = interrupt<string>({ question: `publish "${s.draft}"?` });
        return { log: `verdict: ${verdict}` };
      })
      .addEdge(START, "review")
      .addEdge("review", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    const paused = await graph.invoke({ draft: "hello" }, { threadId: "t" });
    expect(paused.__interrupt__).toHaveLength(1);
    expect(paused.__interrupt__![0]).toMatchObject({
      value: { question: 'publish "hello"?' },
      node: "review",
      kind: "dynamic",
    });
    const state = await graph.getState("t");
    expect(state?.next).toEqual(["review"]);
    expect(state?.interrupts.map((i) => i.id)).toEqual([paused.__interrupt__![0]!.id]);
    expect(state?.tasks[0]?.interrupts).toHaveLength(1);

    // invoke(null) does not answer a dynamic interrupt: nothing runs.
    await graph.invoke(null, { threadId: "t" });
    expect(runs).toEqual(["review started"]);

    const done = await graph.invoke(new Command({ resume: "yes" }), { threadId: "t" });
    expect(done).toEqual({ draft: "hello", log: ["verdict: yes"] });
    expect(runs).toEqual(["review started", "review started"]);
    expect((await graph.getState("t"))?.interrupts).toEqual([]);
  });

  it("gives each interrupt() call its own id, and replays earlier answers when a node interrupts twice", async () => {
    const graph = new StateGraph(State)
      .addNode("form", () => {
        const name = interrupt<string>("name?");
        const email = interrupt<string>("email?");
        return { log: `${name} <${email}>` };
      })
      .addEdge(START, "form")
      .addEdge("form", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    const first = await graph.invoke({}, { threadId: "t" });
    const second = await graph.invoke(new Command({ resume: "Ada" }), { threadId: "t" });
    expect(second.__interrupt__![0]!.value).toBe("email?");
    expect(second.__interrupt__![0]!.id).not.toBe(first.__interrupt__![0]!.id);
    const done = await graph.invoke(new Command({ resume: "ada@example.org" }), { threadId: "t" });
    expect(done.log).toEqual(["Ada <ada@example.org>"]);
  });

  it("rejects a bare resume when several interrupts are pending, listing their ids, and accepts answers by id", async () => {
    const ask = (name: string) => () => ({ log: `${name}: ${interrupt<string>(`${name}?`)}` });
    const graph = new StateGraph(State)
      .addNode("a", ask("a"))
      .addNode("b", ask("b"))
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge("a", END)
      .addEdge("b", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    const paused = await graph.invoke({}, { threadId: "t" });
    const ids = paused.__interrupt__!.map((i) => i.id);
    expect(ids).toHaveLength(2);
    const error = await graph
      .invoke(new Command({ resume: "both" }), { threadId: "t" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidResumeError);
    for (const id of ids) expect((error as Error).message).toContain(id);

    const [aId, bId] = paused.__interrupt__!.map((i) => (i.node === "a" ? i.id : i.id));
    const partly = await graph.invoke(new Command({ resume: { [aId!]: "one" } }), {
      threadId: "t",
    });
    expect(partly.__interrupt__!.map((i) => i.id)).toEqual([bId]);
    const done = await graph.invoke(new Command({ resume: { [bId!]: "two" } }), { threadId: "t" });
    expect([...done.log].sort()).toEqual(["a: one", "b: two"]);
  });

  it("rejects a resume when nothing is pending", async () => {
    const graph = new StateGraph(State)
      .addNode("n", () => ({ log: "n" }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await graph.invoke({}, { threadId: "t" });
    await expect(
      graph.invoke(new Command({ resume: 1 }), { threadId: "t" }),
    ).rejects.toBeInstanceOf(InvalidResumeError);
  });

  it("pauses before and after static interrupt nodes; invoke(null) goes on", async () => {
    const ran: string[] = [];
    const graph = new StateGraph(State)
      .addNode("compose", () => (ran.push("compose"), { draft: "v1" }))
      .addNode("send", () => (ran.push("send"), { log: "sent" }))
      .addNode("archive", () => (ran.push("archive"), { log: "archived" }))
      .addEdge(START, "compose")
      .addEdge("compose", "send")
      .addEdge("send", "archive")
      .addEdge("archive", END)
      .compile({
        checkpointer: new MemoryCheckpointer(),
        interruptBefore: ["send"],
        interruptAfter: ["send"],
      });
    const before = await graph.invoke({}, { threadId: "t" });
    expect(before.__interrupt__?.[0]).toMatchObject({ kind: "before", node: "send" });
    expect(ran).toEqual(["compose"]);
    expect((await graph.getState("t"))?.next).toEqual(["send"]);
    const after = await graph.invoke(null, { threadId: "t" });
    expect(after.__interrupt__?.[0]).toMatchObject({ kind: "after", node: "send" });
    expect(ran).toEqual(["compose", "send"]);
    const done = await graph.resume("t");
    expect(done.__interrupt__).toBeUndefined();
    expect(ran).toEqual(["compose", "send", "archive"]);
    expect(done.log).toEqual(["sent", "archived"]);
  });

  it("reports an interrupted thread in listThreads until it is resumed", async () => {
    const checkpointer = new MemoryCheckpointer();
    const graph = new StateGraph(State)
      .addNode("ask", () => ({ log: interrupt<string>("?") }))
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile({ checkpointer });
    await graph.invoke({}, { threadId: "t" });
    expect((await checkpointer.listThreads()).threads[0]?.status).toBe("interrupted");
    await graph.invoke(new Command({ resume: "ok" }), { threadId: "t" });
    expect((await checkpointer.listThreads()).threads[0]?.status).toBe("finished");
  });
});

describe("editing state at a pause", () => {
  it("updateState at an interruptBefore pause approves it: the next invoke(null) runs the node", async () => {
    const graph = new StateGraph(State)
      .addNode("compose", () => ({ draft: "v1" }))
      .addNode("send", (s) => ({ log: `sent ${s.draft}` }))
      .addEdge(START, "compose")
      .addEdge("compose", "send")
      .addEdge("send", END)
      .compile({ checkpointer: new MemoryCheckpointer(), interruptBefore: ["send"] });
    await graph.invoke({}, { threadId: "t" });
    await graph.updateState("t", { draft: "v2 (edited)" });
    const done = await graph.invoke(null, { threadId: "t" });
    expect(done.__interrupt__).toBeUndefined();
    expect(done.log).toEqual(["sent v2 (edited)"]);
  });

  it("reports several interrupts in plan order, whatever order the nodes paused in", async () => {
    const graph = new StateGraph(State)
      .addNode("a", async () => {
        await new Promise((r) => setTimeout(r, 20));
        return { log: interrupt<string>("a?") };
      })
      .addNode("b", () => ({ log: interrupt<string>("b?") }))
      .addEdge(START, "a")
      .addEdge(START, "b")
      .addEdge("a", END)
      .addEdge("b", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    const paused = await graph.invoke({}, { threadId: "t" });
    expect(paused.__interrupt__?.map((i) => i.value)).toEqual(["a?", "b?"]);
    expect((await graph.getState("t"))?.interrupts.map((i) => i.value)).toEqual(["a?", "b?"]);
  });
});
