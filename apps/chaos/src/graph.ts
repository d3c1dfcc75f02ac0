import { setTimeout as sleep } from "node:timers/promises";
import type { Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, lastValue, reducer } from "@waypoint/core";

export const CHAOS_STEPS = 10;

const State = defineState({
  step: lastValue<number>({ default: () => 0 }),
  log: reducer(
    (a: number[], b: number) => [...a, b],
    () => [] as number[],
  ),
});

/**
 * Ten supersteps; each waits `stepMs`, then sends "<thread>:<step>" to the
 * sink as an effect with its idempotency key, and logs the step.
 */
export function chaosGraph(checkpointer: Checkpointer, sinkUrl: string, stepMs: number) {
  return new StateGraph(State)
    .addNode("work", async (s, ctx) => {
      const step = s.step + 1;
      await sleep(stepMs, undefined, { signal: ctx.signal });
      await ctx.effect("deliver", async ({ idempotencyKey, signal }) => {
        const response = await fetch(sinkUrl, {
          method: "POST",
          headers: { "idempotency-key": idempotencyKey },
          body: `${ctx.threadId}:${step}`,
          signal,
        });
        return response.text();
      });
      return { step, log: step };
    })
    .addEdge(START, "work")
    .addConditionalEdges("work", (s) => (s.step >= CHAOS_STEPS ? END : "work"))
    .compile({ checkpointer });
}
