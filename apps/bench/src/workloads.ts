import { createHash } from "node:crypto";
import type { Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, reducer } from "@waypoint/core";
import { median } from "./measure.js";
import { roundsFor } from "./run-options.js";

/**
 * The workloads the storage suites share (PostgreSQL, Redis), so that their
 * figures compare: (a) a chain invoked many times on one thread, (b) one
 * thread growing for many supersteps, (c) many short threads at once, and
 * (d) reloading (b)'s thread.
 */
export const CHAIN = { nodes: 10, invocations: 10, bytes: 200 };
export const GROWTH = { steps: 200, bytes: 2048, marks: [10, 100, 200], window: 10 };
/**
 * (b) and (d) again at the length issue 22 sets its targets for: 2,000
 * supersteps of 2 KB (4 MB at the end), the floor and Waypoint only, fewer
 * rounds (a run takes 10 times as long). The 200-step figures stay beside them.
 */
export const LONG_GROWTH = { steps: 2000, rounds: roundsFor(3, 1) };
export const FAN_OUT = { threads: 1000, nodes: 3, concurrency: 16 };
/** New instances per side and round that each load the grown thread once. */
export const RELOADS = 5;
export const RECURSION_LIMIT = LONG_GROWTH.steps + 100;
/**
 * Unmeasured runs of (a) per side first: V8 needs a couple of thousand
 * supersteps to settle (after 1 run Waypoint's Node CPU per step is 5x its
 * settled figure), and the figures are for a long-lived process.
 */
export const WARM_UP_RUNS = 20;

/**
 * Random-looking text (SHA-512 in counter mode, base64url): no store's
 * compression helps any side. Derived from `seed`, so that a side running in
 * another process (side-process.ts) writes the same payloads.
 */
function randomText(bytes: number, seed: string): string {
  const blocks: Buffer[] = [];
  for (let i = 0; i * 64 < bytes; i += 1) {
    blocks.push(createHash("sha512").update(`${seed}:${i}`).digest());
  }
  return Buffer.concat(blocks).toString("base64url").slice(0, bytes);
}
export const chainPayloads = Array.from({ length: CHAIN.nodes }, (_, i) =>
  randomText(CHAIN.bytes, `chain ${i}`),
);
const growthPayloads = Array.from({ length: LONG_GROWTH.steps }, (_, i) =>
  randomText(GROWTH.bytes, `growth ${i}`),
);
/** The log a grown thread of `shape` (a loop) ends with. */
export function grownLog(shape: Shape): readonly string[] {
  return growthPayloads.slice(0, nodesPerRun(shape));
}

/** A graph: a chain of nodes each appending its payload, or one node looping `steps` times. */
export type Shape = { kind: "chain"; nodes: number } | { kind: "loop"; steps: number };

export function payloadOf(shape: Shape, step: number): string {
  return shape.kind === "chain" ? chainPayloads[step % shape.nodes]! : growthPayloads[step]!;
}

export function nodesPerRun(shape: Shape): number {
  return shape.kind === "chain" ? shape.nodes : shape.steps;
}

/** Every superstep's start (node entry, or the floor's turn), for per-step times; cleared per run. */
export const stamps: number[] = [];

/** The runtimes' node names, and the one function every node runs (same on both sides). */
export function nodesOf(shape: Shape) {
  const names =
    shape.kind === "chain" ? Array.from({ length: shape.nodes }, (_, i) => `n${i}`) : ["append"];
  const append = (state: { log: string[] }) => {
    stamps.push(performance.now());
    return { log: payloadOf(shape, state.log.length) };
  };
  return { names, append };
}

export function expectLog(
  side: { readonly name: string },
  what: string,
  log: readonly string[],
  expected: readonly string[],
) {
  // A run that stops early or loses writes must not pass as a fast one.
  if (log.length !== expected.length || log.some((entry, i) => entry !== expected[i])) {
    throw new Error(
      `${side.name} ${what}: log has ${log.length} entries, expected ${expected.length} in order`,
    );
  }
}

export const chainShape: Shape = { kind: "chain", nodes: CHAIN.nodes };
export const chainLog = Array.from(
  { length: CHAIN.nodes * CHAIN.invocations },
  (_, i) => chainPayloads[i % CHAIN.nodes]!,
);
export const loopShape: Shape = { kind: "loop", steps: GROWTH.steps };
export const longLoopShape: Shape = { kind: "loop", steps: LONG_GROWTH.steps };
export const fanOutShape: Shape = { kind: "chain", nodes: FAN_OUT.nodes };

export const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;
export const verdict = (value: number, limit: number) =>
  `${value <= limit ? "met" : "not met"} (${value.toFixed(2)}x, target <= ${limit}x)`;

/** Per-step time at superstep `mark`: the median of the `window` supersteps up to it. */
export function stepTime(intervals: readonly number[], mark: number): number {
  return median(intervals.slice(mark - GROWTH.window, mark));
}

/**
 * A run's slowest step against its median step (issue 22: at most 3x), from
 * the times between superstep starts: where a snapshot or a stall shows.
 */
export function stepSpread(intervals: readonly number[]) {
  const sorted = [...intervals].sort((a, b) => a - b);
  const middle = median(sorted);
  const slowest = sorted[sorted.length - 1]!;
  // The 99th percentile beside the slowest: on a shared machine one descheduling makes the maximum.
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
  return { median: middle, slowest, p99, ratio: slowest / middle };
}

/** The run whose total is the median of `runs` (for a per-step chart of a typical run). */
export function medianRun<T>(runs: readonly T[], total: (run: T) => number): T {
  return [...runs].sort((a, b) => total(a) - total(b))[Math.floor(runs.length / 2)]!;
}

/**
 * The floors' invocation, whatever they write to: one write per superstep of
 * that superstep's writes as JSON (`[{"node","channel","value"}]`), plus one
 * (`[]`) for the invocation's input step, which both runtimes checkpoint too.
 * What an app would keep in memory: each thread's log and next step number.
 */
export function floorLoop(
  shape: Shape,
  write: (threadId: string, step: number, data: string) => Promise<void>,
) {
  const threads = new Map<string, { log: string[]; step: number }>();
  return {
    async run(threadId: string): Promise<readonly string[]> {
      const thread = threads.get(threadId) ?? { log: [], step: 0 };
      threads.set(threadId, thread);
      await write(threadId, thread.step++, "[]");
      for (let i = 0; i < nodesPerRun(shape); i += 1) {
        stamps.push(performance.now());
        const value = payloadOf(shape, thread.log.length);
        await write(
          threadId,
          thread.step++,
          JSON.stringify([{ node: "append", channel: "log", value }]),
        );
        thread.log.push(value);
      }
      return thread.log;
    },
    /** Writes stored for the thread; a new instance is told one invocation's worth. */
    steps(threadId: string): number {
      return threads.get(threadId)?.step ?? nodesPerRun(shape) + 1;
    },
  };
}

/** One side's graph (or the floor's loop) of a shape, on one store. */
export interface Runner {
  /**
   * One invocation on `threadId`; returns the thread's whole log afterwards.
   * `newThread`: the thread is made for this run (Waypoint then starts it
   * without reading it; the other sides have no such option and ignore it).
   */
  run(threadId: string, options?: { newThread?: boolean }): Promise<readonly string[]>;
  /** The thread's log as a fresh process would load it. */
  load(threadId: string): Promise<readonly string[]>;
}

/** Waypoint's graph of `shape` on `checkpointer`, durability "sync". */
export function waypointRunner(shape: Shape, checkpointer: Checkpointer): Runner {
  const State = defineState({
    log: reducer(
      (a: string[], b: string) => [...a, b],
      () => [] as string[],
    ),
  });
  const { names, append } = nodesOf(shape);
  const builder = new StateGraph(State);
  for (const name of names) builder.addNode(name, append);
  builder.addEdge(START, names[0]!);
  if (shape.kind === "chain") {
    for (let i = 1; i < names.length; i += 1) builder.addEdge(names[i - 1]!, names[i]!);
    builder.addEdge(names[names.length - 1]!, END);
  } else {
    builder.addConditionalEdges("append", (state) =>
      state.log.length >= shape.steps ? END : "append",
    );
  }
  const graph = builder.compile({ checkpointer });
  return {
    async run(threadId, { newThread = false } = {}) {
      const options = {
        threadId,
        durability: "sync",
        recursionLimit: RECURSION_LIMIT,
        newThread,
      } as const;
      return (await graph.invoke({}, options)).log;
    },
    async load(threadId) {
      return (await graph.getState(threadId))?.values.log ?? [];
    },
  };
}

/**
 * (c)'s measured part: every thread run, `FAN_OUT.concurrency` at a time.
 * Thread ids are `<prefix><n>`: a store kept across runs gets new threads each run.
 */
export async function fanOutWork(
  side: { readonly name: string },
  runner: Runner,
  prefix = "t",
): Promise<void> {
  const expected = chainPayloads.slice(0, FAN_OUT.nodes);
  let next = 0;
  const worker = async () => {
    while (next < FAN_OUT.threads) {
      // Each thread is made for its run: Waypoint starts it with `newThread`, as a job system would.
      const threadId = `${prefix}${next++}`;
      expectLog(side, "(c)", await runner.run(threadId, { newThread: true }), expected);
    }
  };
  await Promise.all(Array.from({ length: FAN_OUT.concurrency }, worker));
}

/** (c)'s check of what was stored: the first, a middle and the last thread. */
export async function fanOutVerify(
  side: { readonly name: string },
  runner: Runner,
  prefix = "t",
): Promise<void> {
  const expected = chainPayloads.slice(0, FAN_OUT.nodes);
  const last = FAN_OUT.threads - 1;
  for (const threadId of [0, FAN_OUT.threads / 2, last].map((n) => `${prefix}${n}`)) {
    expectLog(side, "(c) stored", await runner.load(threadId), expected);
  }
}

/** Runs `body` `count` times for every side, rotating which goes first round by round. */
export async function rounds<S, T>(
  sides: readonly S[],
  count: number,
  body: (side: S, round: number) => Promise<T>,
): Promise<Map<S, T[]>> {
  const results = new Map<S, T[]>(sides.map((side) => [side, []]));
  for (let round = 0; round < count; round += 1) {
    for (let i = 0; i < sides.length; i += 1) {
      const side = sides[(round + i) % sides.length]!;
      results.get(side)!.push(await body(side, round));
    }
  }
  return results;
}
