import { StorageUnavailableError, type Checkpointer } from "@waypoint/checkpoint";
import { lastValue, reducer } from "../src/channels/index.js";
import { END, START } from "../src/constants.js";
import { StateGraph } from "../src/graph/state-graph.js";
import { defineState } from "../src/state.js";

/** Supersteps of the graph `runThroughOutage` runs; its log ends as 1..STEPS. */
export const OUTAGE_STEPS = 50;

const State = defineState({
  step: lastValue<number>({ default: () => 0 }),
  log: reducer(
    (a: number[], b: number) => [...a, b],
    () => [] as number[],
  ),
});

export interface OutageResult {
  /** Whether the run rode out the outage, or failed with STORAGE_UNAVAILABLE and was resumed. */
  readonly outcome: "continued" | "failed";
  /** The thread's state once it ended. */
  readonly values: { step: number; log: number[] } | undefined;
}

/**
 * Runs a 50-superstep graph (15 ms a step) on `checkpointer`, calls `outage`
 * 300 ms in (the store restarting, say), and resumes the thread if the run
 * failed with STORAGE_UNAVAILABLE. Any other error is thrown.
 */
export async function runThroughOutage(
  checkpointer: Checkpointer,
  outage: () => Promise<void>,
): Promise<OutageResult> {
  const graph = new StateGraph(State)
    .addNode("tick", async (s) => {
      await new Promise((resolve) => setTimeout(resolve, 15));
      return { step: s.step + 1, log: s.step + 1 };
    })
    .addEdge(START, "tick")
    .addConditionalEdges("tick", (s) => (s.step >= OUTAGE_STEPS ? END : "tick"))
    .compile({ checkpointer });
  // Settled as soon as the run ends, so that a run that fails while the
  // outage is still going on is never an unhandled rejection.
  const run = graph.invoke({ step: 0 }, { threadId: "t", recursionLimit: 100 }).then(
    () => ({ outcome: "continued" as const }),
    (error: unknown) => ({ outcome: "failed" as const, error }),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  await outage();
  const ended = await run;
  if ("error" in ended && !(ended.error instanceof StorageUnavailableError)) throw ended.error;
  const outcome = ended.outcome;
  if (outcome === "failed") await graph.resume("t", { recursionLimit: 100 });
  return { outcome, values: (await graph.getState("t"))?.values };
}
