/**
 * Fills a store the way the CLI's tests need it, by running real graphs: an
 * interrupted thread (effects, a tool call recorded, a partial output), a
 * finished one, a failed one, and queued runs.
 */
import type { Checkpointer } from "@waypoint/checkpoint";
import {
  Command,
  END,
  START,
  StateGraph,
  TerminalError,
  createClient,
  defineState,
  interrupt,
  lastValue,
  reducer,
  toolEffectName,
  topic,
} from "@waypoint/core";

export const State = defineState({
  topic: lastValue<string>(),
  draft: lastValue<string>(),
  log: topic<string>(),
  count: reducer(
    (a: number, b: number) => a + b,
    () => 0,
  ),
  approved: lastValue<boolean>(),
});

/** START → write → review (two effects, a tool call, a partial, then interrupt) → END. */
export function essayGraph(checkpointer: Checkpointer) {
  return new StateGraph(State)
    .addNode("write", (s) => ({ draft: `draft of ${s.topic}`, log: "write", count: 1 }))
    .addNode("review", async (_s, ctx) => {
      // The effect returns its key, so a test can check the key the CLI shows.
      await ctx.effect("notify", ({ idempotencyKey }) => idempotencyKey);
      await ctx.effect(toolEffectName("call-1"), () => ({ weather: "sunny" }));
      // A call made inside a recorded call (as a Functional API task's effects are) has a scope.
      await ctx.effect("outer", () => ctx.effect("inner", ({ idempotencyKey }) => idempotencyKey));
      ctx.partial("half a review");
      // The first partial is saved on the next tick (later ones are throttled).
      await new Promise((resolve) => setTimeout(resolve, 20));
      const approved = interrupt<boolean>({ question: "approve the draft?" });
      return { approved, log: "review", count: 1 };
    })
    .addEdge(START, "write")
    .addEdge("write", "review")
    .addEdge("review", END)
    .compile({ checkpointer, name: "essay", version: 2 });
}

/** A graph whose only node fails with a TerminalError. */
export function failingGraph(checkpointer: Checkpointer) {
  return new StateGraph(State)
    .addNode("boom", () => {
      throw new TerminalError("the model refused");
    })
    .addEdge(START, "boom")
    .addEdge("boom", END)
    .compile({ checkpointer, name: "failing" });
}

export interface Filled {
  readonly interrupted: string;
  readonly finished: string;
  readonly failed: string;
  readonly runs: { readonly pending: string; readonly second: string };
}

export async function fillStore(checkpointer: Checkpointer): Promise<Filled> {
  const essay = essayGraph(checkpointer);
  await essay.invoke({ topic: "owls" }, { threadId: "t-interrupted", metadata: { user: "ada" } });
  await essay.invoke({ topic: "bats" }, { threadId: "t-finished", metadata: { user: "bob" } });
  await essay.invoke(new Command({ resume: true }), { threadId: "t-finished" });
  await failingGraph(checkpointer)
    .invoke({ topic: "x" }, { threadId: "t-failed" })
    .catch(() => undefined);
  const client = createClient({ checkpointer });
  const pending = await client.runs.create("t-queued", { topic: "moths" }, { graph: "essay" });
  const second = await client.runs.create("t-queued", { topic: "moths 2" }, { graph: "essay" });
  return {
    interrupted: "t-interrupted",
    finished: "t-finished",
    failed: "t-failed",
    runs: { pending: pending.id, second: second.id },
  };
}
