/**
 * The human-in-the-loop model test: random sequences of invoke, resume (by
 * id, bare, with undefined), updateState (values, asNode, END, COPY), replay
 * and fork from past checkpoints, crashes at every fault point (thrown in this
 * process, or a child killed with SIGKILL on SQLite) and streams, on graphs
 * with parallel tasks, Sends, a subgraph and a breakpoint. Every invariant is
 * checked after every op (hitl-model/effect-rules.ts, checks.ts, probes.ts,
 * stream-check.ts say which).
 *
 *   FUZZ_RUNS=2000       sequences (CI); `pnpm fuzz` runs 20000 with a random seed
 *   FUZZ_SEED=<n>        the seed (printed; fixed in CI), FUZZ_PATH to replay a shrink
 *   FUZZ_OPS=a,b         only these ops: invoke,continue,resume,bare,replay,update,
 *                        asnode,end,copy,fork,crash,stream
 *   FUZZ_MAX_OPS=10      ops per sequence (at most), after an invoke most start with
 *   FUZZ_SQLITE=0.1      share of sequences on SQLite instead of memory
 *   FUZZ_KILL_RUNS=16    sequences of the SIGKILL share (0: none)
 *   FUZZ_GRAPHS=a,b      only these graphs: fanout,sends,nested
 *   FUZZ_SKIP=inv1,inv2  do not report these invariants (while the runtime is being fixed)
 *   FUZZ_STATS=1         prints how often each op ran and how it ended
 *   HITL_MODEL=off       skips the whole file
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { disarmFaults } from "@waypoint/core/testing";
import { ChildRunner } from "./hitl-model/child-runner.js";
import { GRAPH_NAMES, type GraphName } from "./hitl-model/graphs.js";
import { describeOp, enabledOps, opArbitraries, type Op } from "./hitl-model/ops.js";
import { World } from "./hitl-model/world.js";

const env = process.env;
const RUNS = Number(env.FUZZ_RUNS ?? 2000);
const SEED = Number(env.FUZZ_SEED ?? 20_251_024);
const PATH = env.FUZZ_PATH;
const OPS = enabledOps(env.FUZZ_OPS);
const MAX_OPS = Number(env.FUZZ_MAX_OPS ?? 10);
const SQLITE_SHARE = Number(env.FUZZ_SQLITE ?? 0.1);
const KILL_RUNS = Number(env.FUZZ_KILL_RUNS ?? 16);
const GRAPHS = env.FUZZ_GRAPHS ? (env.FUZZ_GRAPHS.split(",") as GraphName[]) : [...GRAPH_NAMES];
for (const graph of GRAPHS)
  if (!GRAPH_NAMES.includes(graph)) throw new Error(`FUZZ_GRAPHS: unknown graph "${graph}"`);
const SKIP = new Set(env.FUZZ_SKIP?.split(",").filter(Boolean) ?? []);
const TIMEOUT = Number(env.FUZZ_TIMEOUT_MS ?? 30 * 60_000);

const directory = mkdtempSync(join(tmpdir(), "waypoint-hitl-model-"));
const sqliteFile = join(directory, "threads.db");
let sqlite: SqliteCheckpointer | undefined;
afterAll(async () => {
  await sqlite?.close();
  rmSync(directory, { recursive: true, force: true });
});

class OpCommand implements fc.AsyncCommand<object, World> {
  constructor(readonly op: Op) {}
  check(): boolean {
    return true;
  }
  async run(_model: object, world: World): Promise<void> {
    await world.apply(this.op);
  }
  toString(): string {
    return describeOp(this.op);
  }
}

let threads = 0;
function world(graph: GraphName, store: "memory" | "sqlite", child?: ChildRunner): World {
  let checkpointer: Checkpointer;
  if (store === "sqlite") checkpointer = sqlite ??= new SqliteCheckpointer(sqliteFile);
  else checkpointer = new MemoryCheckpointer();
  return new World({
    graph,
    store,
    checkpointer,
    threadId: `hitl-${++threads}`,
    skip: SKIP,
    ...(child ? { child } : {}),
  });
}

const commands = (kill: boolean) =>
  fc.commands(
    opArbitraries(OPS, kill).map((arb) => arb.map((op) => new OpCommand(op))),
    { maxCommands: MAX_OPS },
  );

/** FUZZ_STATS=1: how often each op ran and how it ended, printed after each property. */
const tally = new Map<string, number>();
function printTally(title: string): void {
  if (env.FUZZ_STATS === undefined) return;
  const rows = [...tally]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `  ${String(n).padStart(6)} ${k}`);
  console.log(`${title}\n${rows.join("\n")}`);
  tally.clear();
}

/**
 * Three sequences in four start on a thread that ran once (`invoke` with
 * n = start); the rest on no thread at all. Shrinks towards start = 1.
 */
const startArb = fc.integer({ min: 1, max: 4 }).map((n) => (n === 4 ? null : n));

async function runSequence(
  w: World,
  start: number | null,
  cmds: Iterable<fc.AsyncCommand<object, World>>,
): Promise<void> {
  try {
    if (start !== null) await w.apply({ kind: "invoke", n: start, via: "invoke", fault: null });
    await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
  } finally {
    disarmFaults();
    for (const key of [...w.tally, `(sequences of ${w.tally.length} ops)`])
      tally.set(key, (tally.get(key) ?? 0) + 1);
  }
}

describe.runIf(env.HITL_MODEL !== "off")("human-in-the-loop model test (fast-check)", () => {
  it.runIf(RUNS > 0)(
    `${RUNS} random op sequences keep every invariant after every op`,
    async () => {
      console.log(
        `hitl-model: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} FUZZ_OPS=${[...OPS].join(",")} FUZZ_MAX_OPS=${MAX_OPS}${SKIP.size ? ` FUZZ_SKIP=${[...SKIP].join(",")}` : ""}`,
      );
      const scenario = fc.record({
        graph: fc.constantFrom(...GRAPHS),
        start: startArb,
        store: fc
          .integer({ min: 0, max: 99 })
          .map((x): "memory" | "sqlite" => (x >= 100 - SQLITE_SHARE * 100 ? "sqlite" : "memory")),
      });
      await fc.assert(
        fc.asyncProperty(scenario, commands(false), async ({ graph, start, store }, cmds) =>
          runSequence(world(graph, store), start, cmds),
        ),
        { numRuns: RUNS, seed: SEED, verbose: 1, ...(PATH ? { path: PATH } : {}) },
      );
      printTally("hitl-model: ops run");
    },
    TIMEOUT,
  );

  it.runIf(KILL_RUNS > 0)(
    `${KILL_RUNS} sequences with SIGKILLed children on SQLite keep every invariant`,
    async () => {
      const child = new ChildRunner(sqliteFile, directory);
      console.log(`hitl-model (SIGKILL share): FUZZ_SEED=${SEED} FUZZ_KILL_RUNS=${KILL_RUNS}`);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...GRAPHS),
          startArb,
          commands(true),
          async (graph, start, cmds) => runSequence(world(graph, "sqlite", child), start, cmds),
        ),
        {
          numRuns: KILL_RUNS,
          seed: SEED,
          verbose: 1,
          // Each kill starts a process: bound the shrinking, the replay path is printed anyway.
          plugins: [fc.interruptAfterTimeLimit(120_000)],
        },
      );
      console.log(`hitl-model (SIGKILL share): ${child.runs} children, ${child.kills} killed`);
      printTally("hitl-model (SIGKILL share): ops run");
      expect(child.runs).toBeGreaterThan(0);
    },
    TIMEOUT,
  );
});
