import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  Annotation,
  END as LANGGRAPH_END,
  START as LANGGRAPH_START,
  StateGraph as LangGraphStateGraph,
} from "@langchain/langgraph";
import { RedisSaver } from "@langchain/langgraph-checkpoint-redis";
import { Redis } from "ioredis";
import { startRedis } from "@waypoint/test-services";
import { LONG_TARGET, longThreadTable } from "./long-thread.js";
import { formatBytes, median, table } from "./measure.js";
import { recordFigure } from "./results.js";
import { resumeTable, resumes, type ResumeSide, type Timing } from "./resume.js";
import { roundsFor } from "./run-options.js";
import {
  LONG_SIDES,
  SIDES,
  TIME_SIDES,
  floor,
  langGraphSaverProcess,
  waypoint,
  type Side,
} from "./redis-sides.js";
import { processCpuMs } from "./side-process.js";
import {
  CHAIN,
  FAN_OUT,
  GROWTH,
  LONG_GROWTH,
  RELOADS,
  WARM_UP_RUNS,
  chainLog,
  grownLog,
  chainShape,
  expectLog,
  fanOutShape,
  loopShape,
  longLoopShape,
  stepSpread,
  payloadOf,
  ratio,
  stamps,
  stepTime,
  verdict,
  fanOutWork,
  fanOutVerify,
  rounds,
  type Runner,
  type Shape,
} from "./workloads.js";

/**
 * Waypoint's RedisCheckpointer against a raw floor on one plain redis-server
 * (no modules) with the append-only file fsynced on every write
 * (`appendfsync always`), durability "sync". LangGraph.js's RedisSaver needs
 * RedisJSON and RediSearch, so it is only tried, and its error reported.
 * The sides (the floor, its atomic variant, the runtime's reference and
 * Waypoint) are in redis-sides.ts.
 *
 * Each run gets a new connection (one per side, commands pipelined on it as
 * ioredis does) and a FLUSHALL afterwards. Bytes are what Redis received
 * (`total_net_input_bytes`) and appended to its AOF (`aof_current_size`),
 * from INFO before and after the run, less one INFO call's own bytes.
 */
/** More than the Postgres suite's 7: a round takes well under a second here, and medians settle. */
const ROUNDS = roundsFor(21, 7);

const TARGET = { time: 1.5, bytes: 2 };

interface Counters {
  readonly netIn: number;
  readonly commands: number;
  readonly cpuMs: number;
  readonly aof: number;
}

/** The server, an admin connection, and what one INFO pair adds by itself. */
class Server {
  private empty: Counters = { netIn: 0, commands: 0, cpuMs: 0, aof: 0 };
  constructor(
    readonly url: string,
    readonly admin: Redis,
  ) {}

  async connect(): Promise<Redis> {
    const redis = new Redis(this.url);
    await redis.ping();
    return redis;
  }

  async calibrate(): Promise<void> {
    const before = await this.counters();
    this.empty = { ...this.since(before, await this.counters()), cpuMs: 0 };
  }

  /** Bytes received, commands (those scripts run included), CPU and AOF size, from one INFO. */
  async counters(): Promise<Counters> {
    const text = await this.admin.info("stats", "cpu", "persistence");
    const value = (name: string) => Number(new RegExp(`^${name}:(.*)$`, "m").exec(text)?.[1]);
    return {
      netIn: value("total_net_input_bytes"),
      commands: value("total_commands_processed"),
      cpuMs: (value("used_cpu_sys") + value("used_cpu_user")) * 1000,
      aof: value("aof_current_size"),
    };
  }

  since(before: Counters, after: Counters): Counters {
    return {
      netIn: after.netIn - before.netIn - this.empty.netIn,
      commands: after.commands - before.commands - this.empty.commands,
      cpuMs: after.cpuMs - before.cpuMs,
      aof: after.aof - before.aof - this.empty.aof,
    };
  }

  async flush(): Promise<void> {
    await this.admin.flushall("SYNC");
  }
}

interface Run extends Counters {
  readonly ms: number;
  /** Time between consecutive superstep starts, by superstep (1-based). */
  readonly intervals: readonly number[];
  /** CPU time of this (Node) process during the run: the runtime, encoding, ioredis. */
  readonly nodeCpuMs: number;
}

interface RunPlan {
  readonly side: Side;
  readonly shape: Shape;
  /** The measured part. */
  readonly work: (runner: Runner) => Promise<void>;
  /** Checks what was stored, after the clock stops. */
  readonly verify: (runner: Runner) => Promise<void>;
  /** Keep the data (for the reloads of (d)); the caller flushes. */
  readonly keep?: boolean;
}

async function measureRun(server: Server, plan: RunPlan): Promise<Run> {
  const redis = await server.connect();
  try {
    const runner = await plan.side.open(redis, plan.shape);
    // A side in another process reports that process's CPU.
    const cpuOf = () => ("cpuMs" in runner ? runner.cpuMs() : processCpuMs());
    try {
      const before = await server.counters();
      stamps.length = 0;
      const cpu = cpuOf();
      const start = performance.now();
      await plan.work(runner);
      const ms = performance.now() - start;
      const nodeCpuMs = cpuOf() - cpu;
      const used = server.since(before, await server.counters());
      const starts = [start, ...stamps];
      const intervals = starts.slice(1).map((t, i) => t - starts[i]!);
      await plan.verify(runner);
      return { ms, intervals, nodeCpuMs, ...used };
    } finally {
      if ("close" in runner) await runner.close();
    }
  } finally {
    redis.disconnect();
    if (plan.keep !== true) await server.flush();
  }
}

function runChain(server: Server, side: Side): Promise<Run> {
  return measureRun(server, {
    side,
    shape: chainShape,
    async work(runner) {
      let log: readonly string[] = [];
      for (let i = 0; i < CHAIN.invocations; i += 1) log = await runner.run("chain");
      expectLog(side, "(a)", log, chainLog);
    },
    verify: async (runner) => expectLog(side, "(a) stored", await runner.load("chain"), chainLog),
  });
}

/**
 * (b), then (d) on the thread it grew: new connection, new checkpointer, new
 * graph each time; on the 200-step thread, (e) adds to `resumed`.
 */
async function runGrowthAndReloads(
  server: Server,
  side: Side,
  shape: Shape = loopShape,
  resumed?: Map<ResumeSide, Timing[]>,
) {
  const growth = await measureRun(server, {
    side,
    shape,
    work: async (runner) => expectLog(side, "(b)", await runner.run("grown"), grownLog(shape)),
    verify: async () => undefined,
    keep: true,
  });
  const reloads: number[] = [];
  try {
    for (let i = 0; i < RELOADS; i += 1) {
      // Connecting is the same start-up cost on every side, and not the reload.
      const redis = await server.connect();
      try {
        const runner = await side.open(redis, shape);
        try {
          const start = performance.now();
          const log = await runner.load("grown");
          reloads.push(performance.now() - start);
          expectLog(side, "(d)", log, grownLog(shape));
        } finally {
          if ("close" in runner) await runner.close();
        }
      } finally {
        redis.disconnect();
      }
    }
    // (e) on the 200-step thread: resumed in new processes, floor and Waypoint.
    if (resumed !== undefined && (side === floor || side === waypoint)) {
      const name = side === floor ? "floor" : "waypoint";
      const times = await resumes({
        backend: "redis",
        side: name,
        url: server.url,
        threadId: "grown",
      });
      resumed.get(name)!.push(...times);
    }
  } finally {
    await server.flush();
  }
  return { growth, reloads };
}

function runFanOut(server: Server, side: Side): Promise<Run> {
  return measureRun(server, {
    side,
    shape: fanOutShape,
    work: (runner) => fanOutWork(side, runner),
    verify: (runner) => fanOutVerify(side, runner),
  });
}

/**
 * Tries LangGraph.js's RedisSaver on this server: a graph like the others,
 * invoked once. Its setup logs (console.error) rather than throws when an
 * index cannot be made; both are returned, first lines verbatim.
 */
async function tryLangGraph(url: string): Promise<{ error: string; logged: string[] }> {
  const logged: string[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => logged.push(args.map(String).join(" "));
  const firstLine = (error: unknown) =>
    (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
  try {
    const saver = await RedisSaver.fromUrl(url);
    try {
      const State = Annotation.Root({
        log: Annotation<string[], string>({ reducer: (a, b) => a.concat(b), default: () => [] }),
      });
      const graph = new LangGraphStateGraph(State)
        .addNode("append", (state) => ({ log: payloadOf(chainShape, state.log.length) }))
        .addEdge(LANGGRAPH_START, "append")
        .addEdge("append", LANGGRAPH_END)
        .compile({ checkpointer: saver });
      await graph.invoke({}, { configurable: { thread_id: "langgraph" }, durability: "sync" });
      return { error: "(none: it ran)", logged };
    } catch (error) {
      return { error: firstLine(error), logged };
    } finally {
      await saver.end();
    }
  } catch (error) {
    return { error: firstLine(error), logged };
  } finally {
    console.error = consoleError;
  }
}

/** Median over the rounds of a run's figure, per superstep. */
function perStep(runs: readonly Run[], figure: (run: Run) => number, steps: number): number {
  return median(runs.map(figure)) / steps;
}

function timeTable(
  title: string,
  results: Map<Side, Run[]>,
  steps: number,
  figure: string,
): string {
  const of = (side: Side, figure: (run: Run) => number) =>
    perStep(results.get(side)!, figure, steps);
  const ms = (side: Side) => of(side, (run) => run.ms);
  recordFigure(
    "redis",
    `${figure}: time`,
    "ms/step",
    TIME_SIDES.map((side) => [side.name, ms(side)]),
  );
  const netIn = (side: Side) => of(side, (run) => run.netIn);
  const rows = TIME_SIDES.map((side) => [
    side.name,
    ms(side).toFixed(3),
    ratio(ms(side), ms(floor)),
    of(side, (run) => run.nodeCpuMs).toFixed(3),
    of(side, (run) => run.cpuMs).toFixed(3),
    of(side, (run) => run.commands).toFixed(2),
    formatBytes(Math.round(netIn(side))),
    ratio(netIn(side), netIn(floor)),
    formatBytes(Math.round(of(side, (run) => run.aof))),
  ]);
  return [
    title,
    table([
      [
        "side",
        "ms/step",
        "time vs floor",
        "node CPU ms/step",
        "redis CPU ms/step",
        "commands/step",
        "bytes in/step",
        "in vs floor",
        "AOF/step",
      ],
      ...rows,
    ]),
    `target (Waypoint time per superstep <= ${TARGET.time}x floor): ${verdict(ms(waypoint) / ms(floor), TARGET.time)}`,
  ].join("\n");
}

/** The installed version of one of this app's dependencies (not every package exports ./package.json). */
function packageVersion(name: string): string {
  const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

export async function redisBenchmark(): Promise<string> {
  const redisServer = await startRedis({ appendOnly: true });
  const admin = new Redis(redisServer.url);
  const server = new Server(redisServer.url, admin);
  try {
    // No background AOF rewrite (a fork) in the middle of some run, paid for others' writes.
    await admin.config("SET", "auto-aof-rewrite-percentage", "0");
    const settings = await admin.config("GET", "appendonly", "appendfsync");
    const version = execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim();
    await server.calibrate();

    const langGraph = await tryLangGraph(redisServer.url);
    await server.flush();

    for (const side of TIME_SIDES) {
      for (let i = 0; i < WARM_UP_RUNS; i += 1) await runChain(server, side);
    }
    const chain = await rounds(TIME_SIDES, ROUNDS, (side) => runChain(server, side));
    const resumed = new Map<ResumeSide, Timing[]>([
      ["floor", []],
      ["waypoint", []],
    ]);
    const growthRounds = await rounds(SIDES, ROUNDS, (side) =>
      runGrowthAndReloads(server, side, loopShape, resumed),
    );
    const longRounds = await rounds(LONG_SIDES, LONG_GROWTH.rounds, (side) =>
      runGrowthAndReloads(server, side, longLoopShape),
    );
    const fanOut = await rounds(TIME_SIDES, ROUNDS, (side) => runFanOut(server, side));

    const a = timeTable(
      `(a) chain: ${CHAIN.nodes} nodes x ${CHAIN.invocations} invocations on one thread, ${CHAIN.bytes} B per node (ms per node superstep)`,
      chain,
      CHAIN.nodes * CHAIN.invocations,
      "(a) chain",
    );
    const c = timeTable(
      `(c) ${FAN_OUT.threads} threads of a ${FAN_OUT.nodes}-node chain, ${FAN_OUT.concurrency} at a time (ms of wall time per node superstep)`,
      fanOut,
      FAN_OUT.threads * FAN_OUT.nodes,
      "(c) 1,000 threads",
    );

    const growth = (side: Side) => growthRounds.get(side)!.map((round) => round.growth);
    const at = (side: Side, mark: number) =>
      median(growth(side).map((run) => stepTime(run.intervals, mark)));
    const msOf = (side: Side) => perStep(growth(side), (run) => run.ms, GROWTH.steps);
    const netInOf = (side: Side) => median(growth(side).map((run) => run.netIn));
    const aofOf = (side: Side) => median(growth(side).map((run) => run.aof));
    const spreadOf = (side: Side) =>
      median(growth(side).map((run) => stepSpread(run.intervals).ratio));
    recordFigure(
      "redis",
      "growing 200: bytes in",
      "bytes",
      SIDES.map((side) => [side.name, netInOf(side)]),
    );
    const b = [
      `(b) ${GROWTH.steps} supersteps on one thread, each appending ${GROWTH.bytes} B`,
      `    (ms @N = median of the times between superstep starts N-${GROWTH.window - 1}..N; ms/step = whole run;`,
      `     bytes in = INFO total_net_input_bytes delta, AOF = aof_current_size delta)`,
      table([
        [
          "side",
          ...GROWTH.marks.map((mark) => `ms @${mark}`),
          "ms/step",
          "time vs floor",
          "@200 / @10",
          "slowest / median",
          "node CPU ms/step",
          "redis CPU ms/step",
          "bytes in",
          "in vs floor",
          "AOF",
        ],
        ...SIDES.map((side) => [
          side.name,
          ...GROWTH.marks.map((mark) => at(side, mark).toFixed(3)),
          msOf(side).toFixed(3),
          ratio(msOf(side), msOf(floor)),
          ratio(at(side, 200), at(side, 10)),
          ratio(spreadOf(side), 1),
          perStep(growth(side), (run) => run.nodeCpuMs, GROWTH.steps).toFixed(3),
          perStep(growth(side), (run) => run.cpuMs, GROWTH.steps).toFixed(3),
          formatBytes(netInOf(side)),
          ratio(netInOf(side), netInOf(floor)),
          formatBytes(aofOf(side)),
        ]),
      ]),
      `target (Waypoint time per superstep <= ${TARGET.time}x floor): ${verdict(msOf(waypoint) / msOf(floor), TARGET.time)}`,
      `target (Waypoint bytes received by Redis <= ${TARGET.bytes}x floor): ${verdict(netInOf(waypoint) / netInOf(floor), TARGET.bytes)}`,
      `issue 22 (Waypoint bytes received by Redis <= ${LONG_TARGET.bytes}x floor): ${verdict(netInOf(waypoint) / netInOf(floor), LONG_TARGET.bytes)}`,
      `issue 22 (Waypoint slowest step <= ${LONG_TARGET.spread}x its median step): ${verdict(spreadOf(waypoint), LONG_TARGET.spread)}`,
    ].join("\n");

    const reload = (side: Side) => median(growthRounds.get(side)!.flatMap((r) => r.reloads));
    recordFigure(
      "redis",
      "growing 200: load",
      "ms",
      SIDES.map((side) => [side.name, reload(side)]),
    );
    const long = longThreadTable({
      suite: "redis",
      bytesName: "bytes in",
      loadName:
        "graph.getState from a new connection, checkpointer and graph; the floors MGET/HMGET every step",
      runs: new Map(
        LONG_SIDES.map((side) => [
          side.name,
          longRounds
            .get(side)!
            .map(({ growth, reloads }) => ({ ...growth, bytes: growth.netIn, loads: reloads })),
        ]),
      ),
      record: true,
    });
    const d = [
      `(d) loading the ${GROWTH.steps}-step thread from a new instance (new connection, new checkpointer, new graph; ${RELOADS} per round; no target)`,
      table([
        ["side", "ms", "vs floor"],
        ...SIDES.map((side) => [
          side.name,
          reload(side).toFixed(2),
          ratio(reload(side), reload(floor)),
        ]),
      ]),
    ].join("\n");

    const e = [
      `LangGraph.js RedisSaver (@langchain/langgraph-checkpoint-redis ${packageVersion("@langchain/langgraph-checkpoint-redis")}) on this server:`,
      `  invoke failed: ${langGraph.error}`,
      ...[...new Set(langGraph.logged)].map((line) => `  setup logged: ${line.split("\n")[0]}`),
    ].join("\n");

    return [
      `Redis: Waypoint (RedisCheckpointer, default options) vs a raw floor (one SET per superstep), durability "sync"`,
      `one local ${version.split(" sha=")[0]}, no modules, ${settings.join(" ")} (each write fsynced to the AOF before the reply); ioredis ${packageVersion("ioredis")}`,
      `(${WARM_UP_RUNS} warm-up runs of (a) per side, then median of ${ROUNDS} rounds, each side first in turn;`,
      ` redis CPU, commands (those run inside scripts included), bytes in and AOF growth are deltas of INFO,`,
      ` less what one INFO call adds by itself, measured at the start)`,
      "",
      a,
      "",
      b,
      "",
      c,
      "",
      d,
      "",
      resumeTable("redis", resumed, table),
      "",
      long,
      "",
      e,
    ].join("\n");
  } finally {
    await langGraphSaverProcess.stop();
    admin.disconnect();
    await redisServer.stop();
  }
}
