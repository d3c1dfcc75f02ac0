import type { Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, reducer } from "@waypoint/core";

/**
 * The in-memory suite's workload (core.ts): a chain of 10 nodes, each
 * appending 200 B to one list channel, invoked 10 times on one thread, every
 * superstep checkpointed ("sync" durability, so serialization is included).
 * Waypoint's graph is here; LangGraph.js's, the same, is in langgraph-chain.ts,
 * so that a process measuring one side loads only that side's code.
 */
export const NODES = 10;
export const INVOCATIONS = 10;
export const PAYLOAD_BYTES = 200;
/** Node supersteps per run; the input step of each invocation is not counted. */
export const STEPS = NODES * INVOCATIONS;

export const names = Array.from({ length: NODES }, (_, i) => `n${i}`);
export const payloads = names.map((name) =>
  `${name} `.padEnd(PAYLOAD_BYTES, "abcdefghijklmnopqrstuvwxyz "),
);

/** One side's chain: one invocation on a thread, which returns the thread's log. */
export type Invoke = (threadId: string) => Promise<readonly string[]>;

/** Runs the chain on `threadId` `INVOCATIONS` times and returns the final log. */
export async function runChain(invoke: Invoke, threadId: string): Promise<readonly string[]> {
  let log: readonly string[] = [];
  for (let i = 0; i < INVOCATIONS; i += 1) log = await invoke(threadId);
  return log;
}

/** A run that stops early or loses writes must not pass as a fast one. */
export function expectChainLog(name: string, log: readonly string[]): void {
  if (log.length !== STEPS || log.some((entry, i) => entry !== payloads[i % NODES])) {
    throw new Error(`${name}: final log has ${log.length} entries, expected ${STEPS} in order`);
  }
}

export function waypointChain(checkpointer: Checkpointer): Invoke {
  const State = defineState({
    log: reducer(
      (a: string[], b: string) => [...a, b],
      () => [] as string[],
    ),
  });
  const builder = new StateGraph(State);
  names.forEach((name, i) => builder.addNode(name, () => ({ log: payloads[i]! })));
  builder.addEdge(START, names[0]!);
  for (let i = 1; i < NODES; i += 1) builder.addEdge(names[i - 1]!, names[i]!);
  builder.addEdge(names[NODES - 1]!, END);
  const graph = builder.compile({ checkpointer });
  return async (threadId) => (await graph.invoke({}, { threadId, durability: "sync" })).log;
}
