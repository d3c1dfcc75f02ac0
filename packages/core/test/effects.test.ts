import { afterEach, describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  Command,
  END,
  NonDeterminismError,
  START,
  StateGraph,
  TerminalError,
  defineState,
  interrupt,
  lastValue,
  reducer,
} from "@waypoint/core";
import { InjectedFault, armFault, disarmFaults } from "@waypoint/core/testing";

const State = defineState({
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
  receipt: lastValue<string>(),
});

afterEach(() => disarmFaults());

/** A payment service that deduplicates by idempotency key, as real ones do. */
class PaymentService {
  readonly charges = new Map<string, number>();
  calls = 0;
  charge(key: string, cents: number): string {
    this.calls += 1;
    if (!this.charges.has(key)) this.charges.set(key, cents);
    return `receipt-${key.slice(0, 8)}`;
  }
}

describe("ctx.effect", () => {
  it("records the result before returning, and a replay gets it without calling fn", async () => {
    const payments = new PaymentService();
    const keys: string[] = [];
    const graph = new StateGraph(State)
      .addNode("checkout", async (_s, ctx) => {
        const receipt = await ctx.effect("charge", ({ idempotencyKey }) => {
          keys.push(idempotencyKey);
          return payments.charge(idempotencyKey, 1999);
        });
        const approved = interrupt<boolean>("ship it?");
        return { receipt, log: approved ? "shipped" : "held" };
      })
      .addEdge(START, "checkout")
      .addEdge("checkout", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await graph.invoke({}, { threadId: "t" });
    const done = await graph.invoke(new Command({ resume: true }), { threadId: "t" });
    expect(payments.calls).toBe(1);
    expect(done.receipt).toMatch(/^receipt-/);
    expect(done.log).toEqual(["shipped"]);
  });

  it("with two effects before an interrupt, the resume runs neither again", async () => {
    let emails = 0;
    let charges = 0;
    const graph = new StateGraph(State)
      .addNode("order", async (_s, ctx) => {
        await ctx.effect("email", () => (emails += 1));
        await ctx.effect("charge", () => (charges += 1));
        return { log: `confirmed by ${interrupt<string>("confirm?")}` };
      })
      .addEdge(START, "order")
      .addEdge("order", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await graph.invoke({}, { threadId: "t" });
    await graph.invoke(new Command({ resume: "Ada" }), { threadId: "t" });
    expect([emails, charges]).toEqual([1, 1]);
  });

  it("gives the same idempotency key on every replay, and different keys to different calls", async () => {
    const keys: string[] = [];
    const graph = new StateGraph(State)
      .addNode(
        "n",
        async (_s, ctx) => {
          await ctx.effect("a", ({ idempotencyKey }) => keys.push(idempotencyKey));
          await ctx.effect("a", ({ idempotencyKey }) => keys.push(idempotencyKey));
          return { log: "done" };
        },
        { retry: { maxAttempts: 2, initialIntervalMs: 1 } },
      )
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    // The first effect's record fails once: fn ran, but its result was not recorded, so the retry runs it again.
    armFault("after-effect-before-record", "throw");
    await graph.invoke({}, { threadId: "t" });
    expect(keys).toHaveLength(3);
    expect(keys[1]).toBe(keys[0]); // the same effect, run again: the same key
    expect(keys[2]).not.toBe(keys[0]); // the second call of "a": its own key
  });

  it("records a TerminalError from fn, so a replay fails the same way without calling it", async () => {
    let calls = 0;
    const graph = new StateGraph(State)
      .addNode("pay", async (_s, ctx) => {
        await ctx.effect("charge", () => {
          calls += 1;
          throw new TerminalError("card declined");
        });
        return { log: "paid" };
      })
      .addEdge(START, "pay")
      .addEdge("pay", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("card declined");
    await expect(graph.resume("t")).rejects.toThrow("card declined");
    expect(calls).toBe(1);
  });

  it("raises NonDeterminismError when a replayed node calls its effects in another order", async () => {
    let version = 1;
    const graph = new StateGraph(State)
      .addNode("n", async (_s, ctx) => {
        if (version === 1) {
          await ctx.effect("reserve", () => "r");
          await ctx.effect("charge", () => "c");
        } else {
          await ctx.effect("charge", () => "c");
          await ctx.effect("reserve", () => "r");
        }
        return { log: interrupt<string>("ok?") };
      })
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await graph.invoke({}, { threadId: "t" });
    version = 2; // the code was changed and deployed while the run was paused
    const error = await graph
      .invoke(new Command({ resume: "yes" }), { threadId: "t" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonDeterminismError);
    expect((error as NonDeterminismError).code).toBe("NON_DETERMINISM");
    expect((error as Error).message).toMatch(
      /effect #1 "charge", but its recorded effect #1 is "reserve"/,
    );
  });

  it("saves the latest partial output, and a re-run of the task sees it as salvage", async () => {
    let first = true;
    const salvaged: unknown[] = [];
    const graph = new StateGraph(State)
      .addNode("write", async (_s, ctx) => {
        salvaged.push(ctx.salvage?.value);
        ctx.partial("Once upon");
        await new Promise((r) => setTimeout(r, 20));
        if (first) {
          first = false;
          throw new Error("connection reset mid-stream");
        }
        return { log: "done" };
      })
      .addEdge(START, "write")
      .addEdge("write", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("mid-stream");
    await graph.resume("t");
    expect(salvaged).toEqual([undefined, "Once upon"]);
  });

  it("fault points throw only when armed", async () => {
    const graph = new StateGraph(State)
      .addNode("n", () => ({ log: "n" }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .compile({ checkpointer: new MemoryCheckpointer() });
    armFault("before-commit", "throw");
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toBeInstanceOf(InjectedFault);
    expect((await graph.invoke({}, { threadId: "t2" })).log).toEqual(["n"]);
  });
});
