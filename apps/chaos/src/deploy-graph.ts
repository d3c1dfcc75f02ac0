import { setTimeout as sleep } from "node:timers/promises";
import type { Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, lastValue, reducer } from "@waypoint/core";

export const DEPLOY_GRAPH = "deploy";
/** The token the v1 → v2 migration appends to a thread's log. */
export const MIGRATED = "migrated";

const append = reducer(
  (log: string[], item: string) => [...log, item],
  () => [] as string[],
);
const V1 = defineState({ log: append });
// v2 adds a channel with a default: threads v2 began say "v2", threads it migrated say "v1".
const V2 = defineState({ log: append, origin: lastValue<string>({ default: () => "v2" }) });

/**
 * The graph a rolling deploy replaces. v1: a → b. v2: a → b → c, the
 * `origin` channel, and a migration from v1 that marks the thread's log.
 * Each step waits `stepMs`, then appends "<node>@v<version>" to the log.
 */
export function deployGraph(checkpointer: Checkpointer, version: 1 | 2, stepMs: number) {
  const step =
    (node: string) =>
    async (_state: unknown, ctx: { signal: AbortSignal }): Promise<{ log: string }> => {
      await sleep(stepMs, undefined, { signal: ctx.signal });
      return { log: `${node}@v${version}` };
    };
  if (version === 1) {
    return new StateGraph(V1)
      .addNode("a", step("a"))
      .addNode("b", step("b"))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile({ checkpointer, name: DEPLOY_GRAPH, version: 1 });
  }
  return new StateGraph(V2)
    .addNode("a", step("a"))
    .addNode("b", step("b"))
    .addNode("c", step("c"))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({
      checkpointer,
      name: DEPLOY_GRAPH,
      version: 2,
      migrations: {
        2: (state) => ({ ...state, log: [...(state.log as string[]), MIGRATED], origin: "v1" }),
      },
    });
}
