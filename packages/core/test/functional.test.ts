import { describe, expect, it } from "vitest";
import {
  Command,
  START,
  END,
  StateGraph,
  TerminalError,
  Worker,
  Client,
  defineState,
  entrypoint,
  getPreviousState,
  interrupt,
  lastValue,
  task,
  type EntrypointContext,
  type EntrypointInterrupted,
} from "@waypoint/core";
import { InvalidArgumentError, MemoryCheckpointer } from "@waypoint/checkpoint";
import { STORES, DedupSink, collect } from "./support/stores.js";

function interruptsOf(result: unknown) {
  return (result as EntrypointInterrupted).__interrupt__;
}

describe.each(STORES)("the Functional API on $name", (store) => {
  it("returns what the function returns, and records each task call once", async () => {
    const checkpointer = store.create();
    const ran: number[] = [];
    const double = task("double", (n: number) => {
      ran.push(n);
      return n * 2;
    });
    let failAfterTasks = true;
    const workflow = entrypoint({ name: "sum", checkpointer }, async (n: number) => {
      const [a, b] = await Promise.all([double(n), double(n + 1)]);
      const c = await double(a + b);
      if (failAfterTasks) throw new Error("the process died here");
      return c;
    });
    await expect(workflow.invoke(1, { threadId: "t" })).rejects.toThrow("the process died here");
    expect(ran).toEqual([1, 2, 6]);
    failAfterTasks = false;
    // The function runs again from the top: every call is answered from the log.
    expect(await workflow.invoke(null, { threadId: "t" })).toBe(12);
    expect(ran).toEqual([1, 2, 6]);
    expect((await workflow.getState("t"))?.values).toBe(12);
  });

  it("re-runs only the parallel calls that had not finished", async () => {
    const checkpointer = store.create();
    const ran: string[] = [];
    let broken = true;
    const fetchPage = task("fetch", async (url: string) => {
      ran.push(url);
      await new Promise((resolve) => setTimeout(resolve, url === "b" ? 5 : 0));
      if (url === "b" && broken) throw new Error("503");
      return url.toUpperCase();
    });
    const workflow = entrypoint({ name: "pages", checkpointer }, (urls: string[]) =>
      Promise.all(urls.map((url) => fetchPage(url))),
    );
    await expect(workflow.invoke(["a", "b", "c"], { threadId: "t" })).rejects.toThrow("503");
    broken = false;
    expect(await workflow.invoke(null, { threadId: "t" })).toEqual(["A", "B", "C"]);
    expect(ran.sort()).toEqual(["a", "b", "b", "c"]);
  });

  it("keeps ctx.effect's exactly-once meaning and keys inside tasks", async () => {
    const checkpointer = store.create();
    const sink = new DedupSink();
    const keys: string[] = [];
    let crash = true;
    const charge = task("charge", async (who: string, ctx: EntrypointContext) => {
      const first = await ctx.effect("pay", ({ idempotencyKey }) => {
        keys.push(idempotencyKey);
        return sink.apply(idempotencyKey, `pay ${who}`);
      });
      const second = await ctx.effect("mail", ({ idempotencyKey }) => {
        keys.push(idempotencyKey);
        if (crash) throw new Error("crashed between the two effects");
        return sink.apply(idempotencyKey, `mail ${who}`);
      });
      return [first, second];
    });
    const workflow = entrypoint({ name: "billing", checkpointer }, (people: string[], ctx) =>
      Promise.all(people.map((who) => charge(who, ctx))),
    );
    await expect(workflow.invoke(["ann", "bob"], { threadId: "t" })).rejects.toThrow("crashed");
    crash = false;
    await workflow.invoke(null, { threadId: "t" });
    // Each "pay" ran once; each "mail" twice under the same key (the first try failed).
    expect(sink.count("pay ann")).toBe(1);
    expect(sink.count("pay bob")).toBe(1);
    expect(sink.count("mail ann")).toBe(1);
    expect(new Set(keys).size).toBe(4);
    expect(keys.length).toBe(6);
  });

  it("calls a failed task again after retryFailedEffects, under new keys", async () => {
    const checkpointer = store.create();
    const keys: string[] = [];
    let declined = true;
    const charge = task("charge", (amount: number, ctx: EntrypointContext) =>
      ctx.effect("card", ({ idempotencyKey }) => {
        keys.push(idempotencyKey);
        if (declined) throw new TerminalError("declined");
        return `charged ${amount}`;
      }),
    );
    const workflow = entrypoint({ name: "checkout", checkpointer }, (amount: number, ctx) =>
      charge(amount, ctx),
    );
    await expect(workflow.invoke(5, { threadId: "t" })).rejects.toThrow("declined");
    // Recorded: a replay fails the same way without calling the card.
    await expect(workflow.invoke(null, { threadId: "t" })).rejects.toThrow("declined");
    expect(keys).toHaveLength(1);
    declined = false;
    const cleared = await workflow.retryFailedEffects("t");
    expect(cleared.map((c) => [c.name, c.scope])).toEqual(
      expect.arrayContaining([
        ["charge", undefined],
        ["card", "0"],
      ]),
    );
    expect(await workflow.invoke(null, { threadId: "t" })).toBe("charged 5");
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
  });

  it("saves state for the thread's next run: entrypoint.final and getPreviousState", async () => {
    const checkpointer = store.create();
    const counter = entrypoint({ name: "counter", checkpointer }, (step: number, ctx) => {
      const total = (getPreviousState<number>() ?? 0) + step;
      expect(ctx.previous).toBe(getPreviousState());
      return entrypoint.final({ value: `total ${total}`, save: total });
    });
    expect(await counter.invoke(2, { threadId: "t" })).toBe("total 2");
    expect(await counter.invoke(3, { threadId: "t" })).toBe("total 5");
    expect(await counter.invoke(1, { threadId: "other" })).toBe("total 1");
    // updateState replaces what the next run reads, and (as LangGraph's) the result until then.
    await counter.updateState("t", 100);
    expect((await counter.getState("t"))?.values).toBe(100);
    expect(await counter.invoke(1, { threadId: "t" })).toBe("total 101");
  });

  it("pauses at interrupt() in the function and in tasks, and resumes by id", async () => {
    const checkpointer = store.create();
    const ran: string[] = [];
    const ask = task("ask", (question: string) => {
      ran.push(question);
      return interrupt<string>(question);
    });
    const workflow = entrypoint({ name: "survey", checkpointer }, async (topic: string) => {
      const ok = interrupt<boolean>(`start ${topic}?`);
      if (!ok) return "declined";
      const answers = await Promise.all([ask("name"), ask("age")]);
      return answers.join(", ");
    });
    const first = interruptsOf(await workflow.invoke("x", { threadId: "t" }));
    expect(first.map((i) => i.value)).toEqual(["start x?"]);
    const second = interruptsOf(
      await workflow.invoke(new Command({ resume: true }), { threadId: "t" }),
    );
    // Both parallel tasks asked: both are reported at once.
    expect(second.map((i) => i.value).sort()).toEqual(["age", "name"]);
    const answers = Object.fromEntries(
      second.map((i) => [i.id, i.value === "name" ? "Ann" : "40"]),
    );
    expect(await workflow.invoke(new Command({ resume: answers }), { threadId: "t" })).toBe(
      "Ann, 40",
    );
    expect(ran.sort()).toEqual(["age", "age", "name", "name"]);
  });

  it("refuses a resumed run whose calls differ from the log: NON_DETERMINISM naming the call", async () => {
    const checkpointer = store.create();
    const a = task("a", () => "A");
    const b = task("b", () => "B");
    let order: "ab" | "ba" = "ab";
    const workflow = entrypoint({ name: "order", checkpointer }, async () => {
      const results = order === "ab" ? [await a(), await b()] : [await b(), await a()];
      interrupt("wait");
      return results.join("");
    });
    await workflow.invoke(1, { threadId: "t" });
    order = "ba";
    const error = await workflow
      .invoke(new Command({ resume: "go" }), { threadId: "t" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "NON_DETERMINISM",
      data: { index: 0, recorded: "a", called: "b", kind: "task" },
    });
    expect((error as Error).message).toContain('task #1 "b"');
  });

  it("streams each task call's update, custom chunks, and the result", async () => {
    const checkpointer = store.create();
    const square = task("square", (n: number) => n * n);
    const workflow = entrypoint({ name: "squares", checkpointer }, async (n: number, ctx) => {
      ctx.writer(`squaring ${n}`);
      return (await square(n)) + (await square(n + 1));
    });
    const events = await collect(
      workflow.stream(2, { threadId: "t", streamMode: ["updates", "custom", "values"] }),
    );
    expect(events).toEqual([
      ["custom", "squaring 2"],
      ["updates", { square: 4 }],
      ["updates", { square: 9 }],
      ["updates", { squares: 13 }],
      ["values", 13],
    ]);
    expect(await collect(workflow.stream(3, { threadId: "t" }))).toEqual([25]);
  });

  it("keeps two checkpoints per run in history (its input, its end), none per task call", async () => {
    const checkpointer = store.create();
    const step = task("step", (n: number) => n + 1);
    const workflow = entrypoint({ name: "steps", checkpointer }, async (n: number) => {
      let value = n;
      for (let i = 0; i < 5; i += 1) value = await step(value);
      return value;
    });
    await workflow.invoke(0, { threadId: "t" });
    await workflow.invoke(10, { threadId: "t" });
    const history = await collect(workflow.getStateHistory("t"));
    expect(history.map((s) => [s.metadata.source, s.values])).toEqual([
      ["loop", 15],
      ["input", undefined],
      ["loop", 5],
      ["input", undefined],
    ]);
  });

  it("composes: an entrypoint calls a graph, and a graph node calls an entrypoint", async () => {
    const checkpointer = store.create();
    const inner = new StateGraph(defineState({ n: lastValue<number>() }))
      .addNode("inc", (s) => ({ n: (s.n ?? 0) + 1 }))
      .addEdge(START, "inc")
      .addEdge("inc", END)
      .compile();
    const outer = entrypoint({ name: "outer", checkpointer }, async (n: number) => {
      const result = await inner.invoke({ n });
      return result.n;
    });
    expect(await outer.invoke(4, { threadId: "t" })).toBe(5);

    const halve = task("halve", (n: number) => n / 2);
    const nested = entrypoint("nested", async (n: number) => (await halve(n)) + 1);
    const graph = new StateGraph(defineState({ n: lastValue<number>() }))
      .addNode("call", async (s) => ({ n: (await nested.invoke(s.n ?? 0)) as number }))
      .addEdge(START, "call")
      .addEdge("call", END)
      .compile({ checkpointer });
    expect((await graph.invoke({ n: 8 }, { threadId: "g" })).n).toBe(5);
  });

  it("runs on a Worker through client.runs", async () => {
    const checkpointer = store.create();
    const greet = task("greet", (name: string) => `hello ${name}`);
    const workflow = entrypoint({ name: "greeter", checkpointer }, (name: string) => greet(name));
    const client = new Client({ checkpointer });
    const run = await client.runs.create("w", "ann", { graph: "greeter" });
    const worker = new Worker({ graphs: { greeter: workflow }, pollMs: 5 }).start();
    try {
      const done = await client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(done.status).toBe("succeeded");
      expect((await workflow.getState("w"))?.values).toBe("hello ann");
    } finally {
      await worker.drain();
    }
  });
});

describe("the Functional API's arguments", () => {
  it("refuses bad options with a typed error naming the option", () => {
    expect(() => entrypoint({ name: "" }, () => 1)).toThrow(InvalidArgumentError);
    expect(() => entrypoint({ name: "x", retry: { maxAttempts: 0 } }, () => 1)).toThrow(
      /entrypoint options\.retry\.maxAttempts/,
    );
    expect(() => task({ name: "t", bogus: 1 } as never, () => 1)).toThrow(/unknown option "bogus"/);
  });

  it("refuses a generator function, which has no one result to record", () => {
    expect(() => entrypoint("gen", async function* () {})).toThrow(/got a generator function/);
    expect(() => entrypoint("gen", function* () {})).toThrow(InvalidArgumentError);
  });

  it("tells a task call from an effect of the same name on replay (NON_DETERMINISM)", async () => {
    const checkpointer = new MemoryCheckpointer();
    const charge = task("charge", () => "as a task");
    let asTask = false;
    const workflow = entrypoint({ name: "mixed", checkpointer }, async (_: number, ctx) => {
      const result = asTask ? await charge() : await ctx.effect("charge", () => "as an effect");
      interrupt("go on?");
      return result;
    });
    await workflow.invoke(1, { threadId: "t" });
    asTask = true;
    const error = await workflow
      .invoke(new Command({ resume: true }), { threadId: "t" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "NON_DETERMINISM",
      data: { kind: "task", recordedKind: "effect", recorded: "charge", called: "charge" },
    });
  });

  it("names a nested call's place counting from 1", async () => {
    const checkpointer = new MemoryCheckpointer();
    let name = "translate";
    // The task pauses after its first effect: on resume it runs again, and its effect is replayed.
    const inner = task("inner", async (ctx: EntrypointContext) => {
      await ctx.effect(name, () => name);
      return interrupt<string>("go on?");
    });
    const workflow = entrypoint({ name: "nested", checkpointer }, async (_: number, ctx) => {
      await ctx.effect("first", () => 1);
      return inner(ctx);
    });
    await workflow.invoke(1, { threadId: "t" });
    name = "summarize";
    const error = await workflow
      .invoke(new Command({ resume: "yes" }), { threadId: "t" })
      .catch((e: unknown) => e);
    // The first effect inside the node's second call: scope "1", index 0.
    expect(error).toMatchObject({ data: { scope: "1", index: 0, recorded: "translate" } });
    expect((error as Error).message).toContain('effect #1 inside call #2 "summarize"');
  });

  it("refuses a task called outside a run", async () => {
    const lonely = task("lonely", () => 1);
    expect(() => lonely()).toThrow(/outside a running entrypoint/);
  });

  it("retries a task by its own policy, inside the call", async () => {
    let tries = 0;
    const flaky = task({ name: "flaky", retry: { maxAttempts: 3, initialIntervalMs: 1 } }, () => {
      tries += 1;
      if (tries < 3) throw new Error("503 try again");
      return "ok";
    });
    const workflow = entrypoint("retrying", () => flaky());
    expect(await workflow.invoke(1)).toBe("ok");
    expect(tries).toBe(3);
  });

  it("replays a task's TerminalError without calling it again", async () => {
    const checkpointer = new MemoryCheckpointer();
    let calls = 0;
    const refuse = task("refuse", () => {
      calls += 1;
      throw new TerminalError("card declined");
    });
    const workflow = entrypoint({ name: "pay", checkpointer }, async () => {
      let outcome = "paid";
      try {
        await refuse();
      } catch (error) {
        outcome = `failed: ${(error as Error).message}`;
      }
      interrupt("confirm");
      return outcome;
    });
    await workflow.invoke(1, { threadId: "t" });
    // The function runs again from the top on resume: the recorded failure is replayed.
    expect(await workflow.invoke(new Command({ resume: "ok" }), { threadId: "t" })).toBe(
      "failed: card declined",
    );
    expect(calls).toBe(1);
  });
});
