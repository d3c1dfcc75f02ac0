import {
  Annotation,
  END as LANGGRAPH_END,
  MemorySaver,
  START as LANGGRAPH_START,
  StateGraph as LangGraphStateGraph,
} from "@langchain/langgraph";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, lastValue, reducer } from "@waypoint/core";
import { functionalBenchmark } from "./functional-api.js";
import { type Sample, measure, median, table } from "./measure.js";

/**
 * The in-memory runtime against LangGraph.js with MemorySaver, on the same
 * graph in the same run: a chain of 10 nodes, each appending 200 B to one list
 * channel, invoked 10 times on one thread, every superstep checkpointed
 * ("sync" durability on both sides, so serialization is included).
 */
const NODES = 10;
const INVOCATIONS = 10;
const PAYLOAD_BYTES = 200;
const ROUNDS = 21;
/**
 * Full runs of the workload, each on its own thread, before any measured one:
 * V8 needs a few thousand supersteps before it has optimized the hot path,
 * and the target is a figure for a long-lived process.
 */
const WARM_UP_RUNS = 30;
/** The figure: 20x LangGraph's ~0.8 ms per superstep on its machine. */
const TARGET_MS_PER_STEP = 0.04;
const TARGET_SPEED_UP = 20;
/** Node supersteps per measured run; the input step of each invocation is not counted. */
const STEPS = NODES * INVOCATIONS;

const names = Array.from({ length: NODES }, (_, i) => `n${i}`);
const payloads = names.map((name) =>
  `${name} `.padEnd(PAYLOAD_BYTES, "abcdefghijklmnopqrstuvwxyz "),
);

/** Runs the graph on a fresh thread `INVOCATIONS` times and returns the final log. */
type Runner = (threadId: string) => Promise<readonly string[]>;

function waypointRunner(): Runner {
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
  const graph = builder.compile({ checkpointer: new MemoryCheckpointer() });
  return async (threadId) => {
    let log: readonly string[] = [];
    for (let i = 0; i < INVOCATIONS; i += 1) {
      log = (await graph.invoke({}, { threadId, durability: "sync" })).log;
    }
    return log;
  };
}

function langGraphRunner(): Runner {
  const State = Annotation.Root({
    log: Annotation<string[], string>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  const builder = new LangGraphStateGraph(State).addNode(
    Object.fromEntries(names.map((name, i) => [name, () => ({ log: payloads[i]! })])),
  );
  builder.addEdge(LANGGRAPH_START, names[0]!);
  for (let i = 1; i < NODES; i += 1) builder.addEdge(names[i - 1]!, names[i]!);
  builder.addEdge(names[NODES - 1]!, LANGGRAPH_END);
  const graph = builder.compile({ checkpointer: new MemorySaver() });
  return async (threadId) => {
    let log: readonly string[] = [];
    for (let i = 0; i < INVOCATIONS; i += 1) {
      // LangGraph's default durability is "async"; "sync" matches Waypoint's.
      const result = await graph.invoke(
        {},
        { configurable: { thread_id: threadId }, durability: "sync" },
      );
      log = result.log;
    }
    return log;
  };
}

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
  // A run that stops early or loses writes must not pass as a fast one.
  if (log.length !== STEPS || log.some((entry, i) => entry !== payloads[i % NODES])) {
    throw new Error(`${name}: final log has ${log.length} entries, expected ${STEPS} in order`);
  }
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
  const yields = await yieldCost();
  const functional = await functionalBenchmark();
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
    functional,
    "",
    yields,
  ].join("\n");
}
