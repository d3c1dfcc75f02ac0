import { EventEmitter, setMaxListeners } from "node:events";
import {
  MemorySaver,
  entrypoint as langGraphEntrypoint,
  task as langGraphTask,
} from "@langchain/langgraph";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { entrypoint, task } from "@waypoint/core";
import { type Sample, measure, median, table } from "./measure.js";

/**
 * The Functional API (issue 21): Waypoint's `entrypoint` / `task` on a
 * MemoryCheckpointer against LangGraph.js's on MemorySaver, in the same run.
 * One entrypoint makes `CALLS` task calls, one after the other or all at
 * once (Promise.all); each call returns a 200 B string. It is invoked
 * `INVOCATIONS` times on one thread, durability "sync" on both sides, and
 * the figure is the time per task call: a run's own cost (its two
 * checkpoints, the function) is shared among its calls, as a user pays it.
 */
const CALLS = 10;
const INVOCATIONS = 10;
const PAYLOAD_BYTES = 200;
const ROUNDS = 21;
/** As for the graph: V8 needs a few thousand calls before the hot path is optimized. */
const WARM_UP_RUNS = 30;
const TOTAL_CALLS = CALLS * INVOCATIONS;

const payloads = Array.from({ length: CALLS }, (_, i) =>
  `call ${i} `.padEnd(PAYLOAD_BYTES, "abcdefghijklmnopqrstuvwxyz "),
);

type Shape = "sequential" | "parallel";

/** Runs the entrypoint on a fresh thread `INVOCATIONS` times; returns the last run's result. */
type Runner = (threadId: string) => Promise<readonly string[]>;

/** The entrypoint's body, the same on both sides: `CALLS` calls of `step`, in `shape`. */
function body(shape: Shape, step: (i: number) => Promise<string>) {
  return async (_input: number): Promise<string[]> => {
    if (shape === "parallel") return Promise.all(payloads.map((_, i) => step(i)));
    const results: string[] = [];
    for (let i = 0; i < CALLS; i += 1) results.push(await step(i));
    return results;
  };
}

function waypointRunner(shape: Shape): Runner {
  const step = task("step", (i: number) => payloads[i]!);
  const workflow = entrypoint(
    { name: "calls", checkpointer: new MemoryCheckpointer() },
    body(shape, step),
  );
  return async (threadId) => {
    let result: unknown;
    for (let i = 0; i < INVOCATIONS; i += 1) {
      result = await workflow.invoke(i, { threadId, durability: "sync" });
    }
    return result as string[];
  };
}

function langGraphRunner(shape: Shape): Runner {
  const step = langGraphTask("step", (i: number) => payloads[i]!);
  const workflow = langGraphEntrypoint(
    { name: "calls", checkpointer: new MemorySaver() },
    body(shape, step),
  );
  return async (threadId) => {
    let result: unknown;
    for (let i = 0; i < INVOCATIONS; i += 1) {
      // LangGraph's default durability is "async"; "sync" matches Waypoint's.
      result = await workflow.invoke(i, {
        configurable: { thread_id: threadId },
        durability: "sync",
      });
    }
    return result as string[];
  };
}

async function runRound(name: string, run: Runner): Promise<Sample> {
  let result: readonly string[] = [];
  const sample = await measure(TOTAL_CALLS, async () => {
    result = await run("measured");
  });
  // A run that skips calls or loses results must not pass as a fast one.
  if (result.length !== CALLS || result.some((entry, i) => entry !== payloads[i])) {
    throw new Error(
      `${name}: the last run returned ${result.length} results, not ${CALLS} in order`,
    );
  }
  return sample;
}

async function compare(shape: Shape): Promise<{ langGraph: number; waypoint: number }> {
  const sides = [
    { name: "Waypoint", create: waypointRunner, samples: [] as Sample[] },
    { name: "LangGraph", create: langGraphRunner, samples: [] as Sample[] },
  ];
  for (const side of sides) {
    for (let i = 0; i < WARM_UP_RUNS; i += 1) await side.create(shape)(`warm-up-${i}`);
  }
  for (let round = 0; round < ROUNDS; round += 1) {
    // Alternate the order so that drift on a shared machine hits both alike.
    for (let i = 0; i < sides.length; i += 1) {
      const side = sides[(round + i) % sides.length]!;
      side.samples.push(await runRound(side.name, side.create(shape)));
    }
  }
  const msPerCall = (samples: Sample[]) => median(samples.map((s) => s.msPerStep));
  return { waypoint: msPerCall(sides[0]!.samples), langGraph: msPerCall(sides[1]!.samples) };
}

export async function functionalBenchmark(): Promise<string> {
  const rows: string[][] = [["workload", "langgraph µs/call", "waypoint µs/call", "speed-up"]];
  // LangGraph adds an abort listener per running task to the run's signal:
  // with 10 parallel calls Node warns (a stack trace to stderr) once per
  // invoke, which would be timed as LangGraph's. The listeners are removed
  // as the calls end, so it is no leak.
  const defaultMaxListeners = EventEmitter.defaultMaxListeners;
  setMaxListeners(CALLS + defaultMaxListeners);
  try {
    for (const shape of ["sequential", "parallel"] as const) {
      const { langGraph, waypoint } = await compare(shape);
      rows.push([
        `entrypoint: ${CALLS} ${shape} task calls x ${INVOCATIONS} invocations, ${PAYLOAD_BYTES} B each`,
        (langGraph * 1000).toFixed(1),
        (waypoint * 1000).toFixed(1),
        `${(langGraph / waypoint).toFixed(1)}x`,
      ]);
    }
  } finally {
    setMaxListeners(defaultMaxListeners);
  }
  return [
    `Functional API: Waypoint (entrypoint/task, MemoryCheckpointer) vs LangGraph.js (entrypoint/task, MemorySaver),`,
    `durability "sync" on both (${WARM_UP_RUNS} warm-up runs per side, then median of ${ROUNDS} rounds;`,
    ` µs per task call, each run's two checkpoints shared among its ${CALLS} calls)`,
    table(rows),
  ].join("\n");
}
