import { MemorySaver } from "@langchain/langgraph";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, lastValue } from "@waypoint/core";
import { functionalBenchmark } from "./functional-api.js";
import { ioShapedRun } from "./io-shaped.js";
import { otelCost } from "./otel-cost.js";
import { langGraphChain } from "./langgraph-chain.js";
import { type Sample, measure, median, table } from "./measure.js";
import {
  INVOCATIONS,
  NODES,
  PAYLOAD_BYTES,
  STEPS,
  expectChainLog,
  runChain,
  waypointChain,
  type Invoke,
} from "./memory-chain.js";
import { recordFigure } from "./results.js";
import { roundsFor } from "./run-options.js";
import { type ShortRunSide, shortRun } from "./short-run.js";

/**
 * The in-memory runtime against LangGraph.js with MemorySaver, on the same
 * graph in the same run: a chain of 10 nodes, each appending 200 B to one list
 * channel, invoked 10 times on one thread, every superstep checkpointed
 * ("sync" durability on both sides, so serialization is included)
 * (memory-chain.ts). Three ways: the tight loop (warmed up, back to back),
 * the short run (a new process, one warm-up invoke) and the I/O-shaped run
 * (every put awaits a loopback round trip).
 */
const ROUNDS = roundsFor(21, 7);
/**
 * Full runs of the workload, each on its own thread, before any measured one:
 * V8 needs a few thousand supersteps before it has optimized the hot path,
 * and the target is a figure for a long-lived process.
 */
const WARM_UP_RUNS = 30;
/** The issue's figure: 20x LangGraph's ~0.8 ms per superstep on its machine. */
const TARGET_MS_PER_STEP = 0.04;
const TARGET_SPEED_UP = 20;
/** Issue 22's: the tight loop (steady state) and the short run, ms per superstep. */
const TARGET_22 = { steady: 0.02, short: 0.08 };
/** Short runs per side, each a new process (a few seconds each under tsx). */
const SHORT_ROUNDS = roundsFor(7, 3);

type Runner = (threadId: string) => Promise<readonly string[]>;

const runner =
  (invoke: Invoke): Runner =>
  (threadId) =>
    runChain(invoke, threadId);
const waypointRunner = () => runner(waypointChain(new MemoryCheckpointer()));
const langGraphRunner = () => runner(langGraphChain(new MemorySaver()));

async function warmUp(create: () => Runner): Promise<void> {
  for (let i = 0; i < WARM_UP_RUNS; i += 1) await create()(`warm-up-${i}`);
}

/** One round for one side: a fresh graph and saver, measured on a new thread. */
async function runRound(name: string, create: () => Runner): Promise<Sample> {
  const run = create();
  let log: readonly string[] = [];
  const sample = await measure(STEPS, async () => {
    log = await run("measured");
  });
  expectChainLog(name, log);
  return sample;
}

/** Supersteps of the one long run whose event-loop yields are counted. */
const LONG_RUN_STEPS = 4_000;

/**
 * The cost of yielding to the event loop (issue 17): a run gives the loop a
 * turn (one setImmediate) once it has held it for 5 ms, and checks the clock
 * (performance.now) after every superstep. Measured from its parts in this
 * process: the yields a long synchronous run makes, what one setImmediate
 * round trip and one clock read cost, against the run's own time.
 */
async function yieldCost(): Promise<string> {
  const State = defineState({ n: lastValue<number>({ default: () => 0 }) });
  const graph = new StateGraph(State)
    .addNode("tick", (s) => ({ n: s.n + 1 }))
    .addEdge(START, "tick")
    .addConditionalEdges("tick", (s) => (s.n < LONG_RUN_STEPS ? "tick" : END), ["tick", END])
    .compile({ checkpointer: new MemoryCheckpointer() });
  const runOnce = (threadId: string) =>
    graph.invoke({}, { threadId, recursionLimit: LONG_RUN_STEPS + 1, durability: "sync" });
  for (let i = 0; i < 3; i += 1) await runOnce(`yield-warm-${i}`);
  const real = globalThis.setImmediate;
  let yields = 0;
  globalThis.setImmediate = ((...args: Parameters<typeof setImmediate>) => {
    yields += 1;
    return real(...args);
  }) as typeof setImmediate;
  const start = performance.now();
  try {
    const final = await runOnce("yield-measured");
    if (final.n !== LONG_RUN_STEPS) throw new Error(`long run ended at ${final.n}`);
  } finally {
    globalThis.setImmediate = real;
  }
  const runMs = performance.now() - start;
  const rounds = 20_000;
  let t = performance.now();
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
  const yieldMs = (performance.now() - t) / rounds;
  t = performance.now();
  let sink = 0;
  for (let i = 0; i < 1_000_000; i += 1) sink += performance.now();
  const clockMs = (performance.now() - t) / 1_000_000;
  if (sink === 0) throw new Error("unreachable");
  const costMs = yields * yieldMs + LONG_RUN_STEPS * clockMs;
  return [
    `Event-loop yields (issue 17): one run of ${LONG_RUN_STEPS} supersteps on a MemoryCheckpointer, "sync"`,
    table([
      [
        "run ms",
        "ms/step",
        "yields",
        "setImmediate µs",
        "clock read ns",
        "yield cost, share of the run",
      ],
      [
        runMs.toFixed(1),
        (runMs / LONG_RUN_STEPS).toFixed(4),
        String(yields),
        (yieldMs * 1000).toFixed(2),
        (clockMs * 1e6).toFixed(1),
        `${((costMs / runMs) * 100).toFixed(2)}%`,
      ],
    ]),
  ].join("\n");
}

export async function coreBenchmark(): Promise<string> {
  const waypoint: Sample[] = [];
  const langGraph: Sample[] = [];
  await warmUp(waypointRunner);
  await warmUp(langGraphRunner);
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate the order so that drift on a shared machine hits both alike.
    const runs = [
      async () => waypoint.push(await runRound("Waypoint", waypointRunner)),
      async () => langGraph.push(await runRound("LangGraph", langGraphRunner)),
    ];
    for (let i = 0; i < runs.length; i += 1) await runs[(round + i) % runs.length]!();
  }
  const ms = (samples: Sample[]) => median(samples.map((s) => s.msPerStep));
  const speedUp = ms(langGraph) / ms(waypoint);
  const verdict = (met: boolean) => (met ? "met" : "not met");
  const issue22 = await issue22Runs(ms(waypoint), ms(langGraph));
  const yields = await yieldCost();
  const functional = await functionalBenchmark();
  const otel = await otelCost(ROUNDS);
  return [
    `In memory: Waypoint (MemoryCheckpointer) vs LangGraph.js (MemorySaver), durability "sync" on both`,
    `(${WARM_UP_RUNS} warm-up runs per side, then median of ${ROUNDS} rounds; ms per node superstep;`,
    ` targets: <= ${TARGET_MS_PER_STEP} ms and >= ${TARGET_SPEED_UP}x LangGraph's throughput)`,
    table([
      [
        "workload",
        "langgraph ms/step",
        "waypoint ms/step",
        "speed-up",
        `<= ${TARGET_MS_PER_STEP} ms`,
        `>= ${TARGET_SPEED_UP}x`,
      ],
      [
        `chain: ${NODES} nodes x ${INVOCATIONS} invocations, ${PAYLOAD_BYTES} B per node`,
        ms(langGraph).toFixed(4),
        ms(waypoint).toFixed(4),
        `${speedUp.toFixed(1)}x`,
        verdict(ms(waypoint) <= TARGET_MS_PER_STEP),
        verdict(speedUp >= TARGET_SPEED_UP),
      ],
    ]),
    "",
    issue22,
    "",
    functional,
    "",
    yields,
    "",
    otel,
  ].join("\n");
}

/** Short runs, each side in a new process, the order alternating round by round. */
async function shortRuns(): Promise<Record<ShortRunSide, number>> {
  const sides = ["waypoint", "langgraph"] as const;
  const results: Record<ShortRunSide, number[]> = { waypoint: [], langgraph: [] };
  for (let round = 0; round < SHORT_ROUNDS; round += 1) {
    for (let i = 0; i < sides.length; i += 1) {
      const side = sides[(round + i) % sides.length]!;
      results[side].push(await shortRun(side));
    }
  }
  return { waypoint: median(results.waypoint), langgraph: median(results.langgraph) };
}

/**
 * Issue 22's memory-chain rows: the tight loop (measured above), the short
 * run and the I/O-shaped run, each Waypoint against LangGraph in this run.
 */
async function issue22Runs(tightWaypoint: number, tightLangGraph: number): Promise<string> {
  const short = await shortRuns();
  const io = await ioShapedRun(ROUNDS);
  const verdict = (value: number, limit: number) =>
    `${value <= limit ? "met" : "not met"} (<= ${limit} ms)`;
  const row = (name: string, langGraph: number, waypoint: number, target: string) => [
    name,
    langGraph.toFixed(4),
    waypoint.toFixed(4),
    `${(langGraph / waypoint).toFixed(1)}x`,
    target,
  ];
  recordFigure("core", "tight loop", "ms/step", [
    ["waypoint", tightWaypoint],
    ["langgraph", tightLangGraph],
  ]);
  recordFigure("core", "short run", "ms/step", [
    ["waypoint", short.waypoint],
    ["langgraph", short.langgraph],
  ]);
  recordFigure("core", "I/O-shaped", "ms/step", [
    ["waypoint", io.ms.waypoint],
    ["langgraph", io.ms.langgraph],
    ["floor", io.ms.floor],
  ]);
  const above = (side: "waypoint" | "langgraph") => io.ms[side] - io.ms.floor;
  return [
    `Issue 22: the chain three ways, Waypoint vs LangGraph.js in this run (ms per node superstep)`,
    `  tight loop: the table above (${WARM_UP_RUNS} warm-up runs, then runs back to back);`,
    `  short run: a new process per run, one warm-up invoke, then the chain's ${STEPS} supersteps (median of ${SHORT_ROUNDS});`,
    `  I/O-shaped: every put first awaits a 1-byte round trip over loopback TCP to another process (median of ${ROUNDS})`,
    table([
      ["run", "langgraph ms/step", "waypoint ms/step", "speed-up", "issue 22 target (waypoint)"],
      row(
        "tight loop (steady state)",
        tightLangGraph,
        tightWaypoint,
        verdict(tightWaypoint, TARGET_22.steady),
      ),
      row(
        `short run (${STEPS} supersteps)`,
        short.langgraph,
        short.waypoint,
        verdict(short.waypoint, TARGET_22.short),
      ),
      row("I/O-shaped", io.ms.langgraph, io.ms.waypoint, "none"),
    ]),
    `I/O-shaped: the round trips alone (${NODES + 1} per invocation, one per put) take ${io.ms.floor.toFixed(4)} ms per superstep;`,
    `  above them Waypoint ${above("waypoint").toFixed(4)}, LangGraph ${above("langgraph").toFixed(4)} (${(above("langgraph") / above("waypoint")).toFixed(1)}x);`,
    `  this process's CPU per superstep: round trips ${io.cpuMs.floor.toFixed(4)}, Waypoint ${io.cpuMs.waypoint.toFixed(4)}, LangGraph ${io.cpuMs.langgraph.toFixed(4)}`,
  ].join("\n");
}
