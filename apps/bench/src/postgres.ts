import pg from "pg";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { startPostgres } from "@waypoint/test-services";
import { formatBytes, median, table } from "./measure.js";
import { LONG_TARGET, longThreadTable } from "./long-thread.js";
import { recordFigure } from "./results.js";
import { resumeTable, resumes, type ResumeSide, type Timing } from "./resume.js";
import { roundsFor } from "./run-options.js";
import { SideProcess, processCpuMs, type RemoteRunner } from "./side-process.js";
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
  floorLoop,
  ratio,
  stamps,
  stepTime,
  verdict,
  waypointRunner,
  fanOutWork,
  fanOutVerify,
  rounds,
  type Runner,
  type Shape,
} from "./workloads.js";

/**
 * Waypoint's PostgresCheckpointer against a raw floor and LangGraph.js's
 * PostgresSaver, all on one durable server (fsync and synchronous_commit on),
 * durability "sync" on both runtimes. (a) and (c) keep a pool and schema per
 * side for all their runs, as a long-lived app does; (b) and (d) give each
 * run a fresh schema. LangGraph's side runs in a child process of its own.
 *
 * The floor is what a minimal durable app would do: one plain INSERT per
 * superstep, in its own transaction (autocommit), of that superstep's writes
 * as JSON, into a table keyed by a bigserial id. It writes a row for each
 * invocation's input step too, as both runtimes checkpoint it (with an empty
 * input, its writes are `[]`). Its reload reads all of the thread's rows back
 * in order and rebuilds the list from their payloads.
 *
 * Payloads are random base64 text, so PostgreSQL's TOAST compression helps no
 * side (real text would compress, the repeated list blobs most of all).
 */
const ROUNDS = roundsFor(7, 3);
/** (a)'s runs are short (100 supersteps, about 30 ms on Waypoint's side): more rounds steady its median. */
const CHAIN_ROUNDS = roundsFor(21, 7);

const TARGET = { time: 1.5, wal: 2, growth: 1.2, reload: 2 };

interface Side {
  readonly name: string;
  /** Opens the side on a pool of the suite's process. */
  open?(pool: pg.Pool, schema: string, shape: Shape): Promise<Runner>;
  /** Or: the process the side runs in, on a pool of its own. */
  readonly remote?: SideProcess;
}

const floor: Side = {
  name: "floor",
  async open(pool, schema, shape) {
    const steps = `"${schema}".steps`;
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${steps} (id bigserial PRIMARY KEY, thread_id text NOT NULL, step int NOT NULL, data text NOT NULL)`,
    );
    const insert = `INSERT INTO ${steps} (thread_id, step, data) VALUES ($1, $2, $3)`;
    const loop = floorLoop(shape, async (threadId, step, data) => {
      await pool.query(insert, [threadId, step, data]);
    });
    return {
      run: (threadId) => loop.run(threadId),
      // No index on thread_id: in (d) the table holds that one thread alone.
      async load(threadId) {
        const { rows } = await pool.query<{ data: string }>(
          `SELECT data FROM ${steps} WHERE thread_id = $1 ORDER BY id`,
          [threadId],
        );
        return rows.flatMap((row) =>
          (JSON.parse(row.data) as { value: string }[]).map((w) => w.value),
        );
      },
    };
  },
};

const waypoint: Side = {
  name: "waypoint",
  async open(pool, schema, shape) {
    const checkpointer = new PostgresCheckpointer({ pool, schema });
    await checkpointer.setup();
    return waypointRunner(shape, checkpointer);
  },
};

/**
 * LangGraph.js runs in a child process of its own (see side-process.ts): its
 * garbage and AsyncLocalStorage would otherwise tax the sides measured after it.
 */
const langGraphProcess = new SideProcess("./langgraph-postgres.js", "openLangGraphPostgres");
const langGraph: Side = { name: "langgraph", remote: langGraphProcess };
/** LangGraph.js on Waypoint's store through WaypointSaver (issue 23), in a process of its own too. */
const langGraphSaverProcess = new SideProcess(
  "./langgraph-postgres.js",
  "openLangGraphWaypointSaver",
);
const langGraphSaver: Side = { name: "langgraph+WaypointSaver", remote: langGraphSaverProcess };

const SIDES = [floor, waypoint, langGraph, langGraphSaver] as const;
/**
 * The 2,000-step thread's sides. LangGraph.js rewrites the whole list on
 * every superstep (86x the floor's WAL at 200 steps): at 2,000 that is about
 * 4 GB of WAL a run, so it is left out.
 */
const LONG_SIDES = [floor, waypoint] as const;

/** The server and an admin pool; each run gets a fresh schema of its own. */
class Server {
  private runs = 0;
  constructor(
    readonly url: string,
    readonly admin: pg.Pool,
  ) {}

  pool(max: number): pg.Pool {
    const pool = new pg.Pool({ connectionString: this.url, max });
    pool.on("error", () => undefined);
    return pool;
  }

  schema(side: Side): string {
    return `bench_${side.name}_${++this.runs}`;
  }

  /** With `checkpoint`, starts from a fresh WAL checkpoint: the run pays no full-page images for another's pages. */
  async walStart({ checkpoint = true } = {}): Promise<string> {
    if (checkpoint) await this.admin.query("CHECKPOINT");
    const { rows } = await this.admin.query<{ lsn: string }>("SELECT pg_current_wal_lsn() AS lsn");
    return rows[0]!.lsn;
  }

  async walSince(lsn: string): Promise<number> {
    const { rows } = await this.admin.query<{ bytes: string }>(
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text AS bytes",
      [lsn],
    );
    return Number(rows[0]!.bytes);
  }

  async drop(schema: string): Promise<void> {
    await this.admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  }
}

interface Run {
  readonly ms: number;
  readonly wal: number;
  /** Time between consecutive superstep starts, by superstep (1-based). */
  readonly intervals: readonly number[];
  /** CPU time of this (Node) process during the run: the runtime, encoding, the pg driver. */
  readonly cpuMs: number;
}

/**
 * A side opened on its own pool and schema. The measured workloads (a) and
 * (c) keep one per side for all their runs, each run on new threads, as a
 * long-lived app keeps its pool: a connection then prepares Waypoint's
 * statements once, not once per 110 supersteps. (a) is also measured cold
 * (a new pool and schema per run), and (b) and (d) always are.
 */
interface Store {
  readonly side: Side;
  readonly schema: string;
  readonly runner: Runner | RemoteRunner;
  close(): Promise<void>;
}

/** Opens `side` on `schema` with a pool of `poolSize` connections, one of them connected. */
async function openSide(
  server: Server,
  side: Side,
  schema: string,
  shape: Shape,
  poolSize: number,
): Promise<Omit<Store, "schema">> {
  if (side.remote !== undefined) {
    const runner = await side.remote.open(server.url, poolSize, schema, shape);
    return { side, runner, close: () => runner.close() };
  }
  const pool = server.pool(poolSize);
  try {
    await pool.query("SELECT 1");
    const runner = await side.open!(pool, schema, shape);
    return { side, runner, close: () => pool.end() };
  } catch (error) {
    await pool.end();
    throw error;
  }
}

async function openStore(server: Server, side: Side, shape: Shape, poolSize: number) {
  const schema = server.schema(side);
  const store: Store = { ...(await openSide(server, side, schema, shape, poolSize)), schema };
  return store;
}

async function closeStore(server: Server, store: Store, { keep = false } = {}): Promise<void> {
  await store.close();
  if (!keep) await server.drop(store.schema);
}

/** CPU time of the process `runner` works in, in ms. */
const cpuOf = (runner: Runner | RemoteRunner) =>
  "cpuMs" in runner ? runner.cpuMs() : processCpuMs();

/**
 * Measures `work` on an opened store (time, WAL, this process's CPU), then
 * checks what it stored. A store of its own starts from a fresh WAL
 * checkpoint (`checkpoint`), so that it pays no full-page images for pages
 * another run dirtied. A kept store does not: a CHECKPOINT before each of its
 * 100-superstep runs would make every run pay a full-page image for each page
 * it touches, which a server pays once per checkpoint interval (5 minutes by
 * default), and Waypoint touches 4 pages per thread to the floor's 2.
 */
async function measureRun(
  server: Server,
  store: Store,
  work: (runner: Runner) => Promise<void>,
  verify: (runner: Runner) => Promise<void>,
  { checkpoint = false } = {},
): Promise<Run> {
  const lsn = await server.walStart({ checkpoint });
  stamps.length = 0;
  const cpu = cpuOf(store.runner);
  const start = performance.now();
  await work(store.runner);
  const ms = performance.now() - start;
  const cpuMs = cpuOf(store.runner) - cpu;
  const wal = await server.walSince(lsn);
  const starts = [start, ...stamps];
  const intervals = starts.slice(1).map((t, i) => t - starts[i]!);
  await verify(store.runner);
  return { ms, wal, intervals, cpuMs };
}

/** Measures `work` on a store opened for it alone (a new pool and schema), closed afterwards. */
async function measureCold(
  server: Server,
  side: Side,
  shape: Shape,
  work: (runner: Runner) => Promise<void>,
  verify: (runner: Runner) => Promise<void>,
  { keep = false } = {},
): Promise<Run & { schema: string }> {
  const store = await openStore(server, side, shape, 2);
  try {
    const run = await measureRun(server, store, work, verify, { checkpoint: true });
    return { ...run, schema: store.schema };
  } finally {
    await closeStore(server, store, { keep });
  }
}

let chainThreads = 0;

/** (a): the chain invoked CHAIN.invocations times on a new thread of `store`, or of a store of its own. */
function runChain(server: Server, target: Store | Side): Promise<Run> {
  const side = "runner" in target ? target.side : target;
  const threadId = `chain${++chainThreads}`;
  const work = async (runner: Runner) => {
    let log: readonly string[] = [];
    for (let i = 0; i < CHAIN.invocations; i += 1) log = await runner.run(threadId);
    expectLog(side, "(a)", log, chainLog);
  };
  const verify = async (runner: Runner) =>
    expectLog(side, "(a) stored", await runner.load(threadId), chainLog);
  return "runner" in target
    ? measureRun(server, target, work, verify)
    : measureCold(server, side, chainShape, work, verify);
}

function runGrowth(
  server: Server,
  side: Side,
  shape: Shape = loopShape,
): Promise<Run & { schema: string }> {
  return measureCold(
    server,
    side,
    shape,
    async (runner) => expectLog(side, "(b)", await runner.run("grown"), grownLog(shape)),
    // (d) loads it, from new instances.
    async () => undefined,
    { keep: true },
  );
}

/** Loads the grown thread from new instances (new pool, new saver, freshly compiled graph). */
async function runReloads(
  server: Server,
  side: Side,
  schema: string,
  shape: Shape = loopShape,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RELOADS; i += 1) {
    // Connecting and the saver's own setup are the same start-up cost on
    // every side, and not the reload: done before the clock starts.
    const { runner, close } = await openSide(server, side, schema, shape, 2);
    try {
      const start = performance.now();
      const log = await runner.load("grown");
      times.push(performance.now() - start);
      expectLog(side, "(d)", log, grownLog(shape));
    } finally {
      await close();
    }
  }
  return times;
}

function runFanOut(server: Server, store: Store, round: number): Promise<Run> {
  const prefix = `r${round}t`;
  return measureRun(
    server,
    store,
    (runner) => fanOutWork(store.side, runner, prefix),
    (runner) => fanOutVerify(store.side, runner, prefix),
  );
}

/** Opens a store per side, runs `body` with them, and closes them. */
async function withStores<T>(
  server: Server,
  shape: Shape,
  poolSize: number,
  body: (stores: Map<Side, Store>) => Promise<T>,
): Promise<T> {
  const stores = new Map<Side, Store>();
  try {
    for (const side of SIDES) stores.set(side, await openStore(server, side, shape, poolSize));
    return await body(stores);
  } finally {
    for (const store of stores.values()) await closeStore(server, store);
  }
}

function timeTable(
  title: string,
  results: Map<Side, Run[]>,
  steps: number,
  figure: string,
): string {
  const ms = (side: Side) => median(results.get(side)!.map((run) => run.ms)) / steps;
  recordFigure(
    "postgres",
    `${figure}: time`,
    "ms/step",
    SIDES.map((side) => [side.name, ms(side)]),
  );
  const wal = (side: Side) => median(results.get(side)!.map((run) => run.wal)) / steps;
  const cpu = (side: Side) => median(results.get(side)!.map((run) => run.cpuMs)) / steps;
  const rows = SIDES.map((side) => [
    side.name,
    ms(side).toFixed(3),
    ratio(ms(side), ms(floor)),
    cpu(side).toFixed(3),
    formatBytes(Math.round(wal(side))),
    ratio(wal(side), wal(floor)),
  ]);
  return [
    title,
    table([
      ["side", "ms/step", "time vs floor", "node CPU ms/step", "WAL/step", "WAL vs floor"],
      ...rows,
    ]),
    `target (Waypoint time per superstep <= ${TARGET.time}x floor): ${verdict(ms(waypoint) / ms(floor), TARGET.time)}`,
  ].join("\n");
}

async function serverInfo(admin: pg.Pool): Promise<string> {
  const { rows } = await admin.query<{ info: string }>(
    `SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) AS info FROM pg_settings
     WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_compression')`,
  );
  return rows[0]!.info;
}

export async function postgresBenchmark(): Promise<string> {
  const postgres = await startPostgres({ durable: true });
  const admin = new pg.Pool({ connectionString: postgres.url, max: 2 });
  const server = new Server(postgres.url, admin);
  try {
    const info = await serverInfo(admin);
    const chain = await withStores(server, chainShape, 2, async (stores) => {
      for (const side of SIDES) {
        for (let i = 0; i < WARM_UP_RUNS; i += 1) await runChain(server, stores.get(side)!);
      }
      return rounds(SIDES, CHAIN_ROUNDS, (side) => runChain(server, stores.get(side)!));
    });
    const coldChain = await rounds(SIDES, ROUNDS, (side) => runChain(server, side));
    const growth = await rounds(SIDES, ROUNDS, (side) => runGrowth(server, side));
    // (d) reads each round's grown thread, then the schemas go.
    // (e) then resumes it in new processes (floor and Waypoint).
    const resumed = new Map<ResumeSide, Timing[]>([
      ["floor", []],
      ["waypoint", []],
    ]);
    const reloads = await rounds(SIDES, ROUNDS, async (side, round) => {
      const { schema } = growth.get(side)![round]!;
      const times = await runReloads(server, side, schema);
      if (side === floor || side === waypoint) {
        const name = side === floor ? "floor" : "waypoint";
        const request = { backend: "postgres", side: name, url: server.url, schema } as const;
        resumed.get(name)!.push(...(await resumes({ ...request, threadId: "grown" })));
      }
      await server.drop(schema);
      return times;
    });
    // The same at 2,000 supersteps, floor and Waypoint: grown, then loaded from new instances.
    const longGrowth = await rounds(LONG_SIDES, LONG_GROWTH.rounds, async (side) => {
      const run = await runGrowth(server, side, longLoopShape);
      const reloads = await runReloads(server, side, run.schema, longLoopShape);
      await server.drop(run.schema);
      return { ...run, reloads };
    });
    const fanOut = await withStores(server, fanOutShape, FAN_OUT.concurrency, (stores) =>
      rounds(SIDES, ROUNDS, (side, round) => runFanOut(server, stores.get(side)!, round)),
    );

    const a = timeTable(
      `(a) chain: ${CHAIN.nodes} nodes x ${CHAIN.invocations} invocations on one thread, ${CHAIN.bytes} B per node (ms per node superstep)`,
      chain,
      CHAIN.nodes * CHAIN.invocations,
      "(a) chain",
    );
    const coldMs = (side: Side) =>
      median(coldChain.get(side)!.map((run) => run.ms)) / (CHAIN.nodes * CHAIN.invocations);
    const cold = [
      "(a) cold: a new pool and schema for each run, so every connection prepares its statements",
      "    again (no target: a long-lived process pays that once per connection)",
      `    ${SIDES.map((side) => `${side.name} ${coldMs(side).toFixed(3)} ms/step (${ratio(coldMs(side), coldMs(floor))})`).join(", ")}`,
    ].join("\n");
    const c = timeTable(
      `(c) ${FAN_OUT.threads} threads of a ${FAN_OUT.nodes}-node chain, ${FAN_OUT.concurrency} at a time (ms of wall time per node superstep)`,
      fanOut,
      FAN_OUT.threads * FAN_OUT.nodes,
      "(c) 1,000 threads",
    );

    const at = (side: Side, mark: number) =>
      median(growth.get(side)!.map((run) => stepTime(run.intervals, mark)));
    const walOf = (side: Side) => median(growth.get(side)!.map((run) => run.wal));
    const spreadOf = (side: Side) =>
      median(growth.get(side)!.map((run) => stepSpread(run.intervals).ratio));
    const growthRows = SIDES.map((side) => [
      side.name,
      ...GROWTH.marks.map((mark) => at(side, mark).toFixed(3)),
      ratio(at(side, 200), at(side, 10)),
      median(growth.get(side)!.map((run) => Math.max(...run.intervals))).toFixed(2),
      ratio(spreadOf(side), 1),
      formatBytes(walOf(side)),
      ratio(walOf(side), walOf(floor)),
    ]);
    const b = [
      `(b) ${GROWTH.steps} supersteps on one thread, each appending ${GROWTH.bytes} B`,
      `    (ms @N = median of the times between superstep starts N-${GROWTH.window - 1}..N; slowest step = the`,
      `     longest such time in the run, where snapshots show; WAL from pg_current_wal_lsn)`,
      table([
        [
          "side",
          ...GROWTH.marks.map((mark) => `ms @${mark}`),
          "@200 / @10",
          "slowest step",
          "slowest / median",
          "WAL",
          "WAL vs floor",
        ],
        ...growthRows,
      ]),
      `target (Waypoint WAL <= ${TARGET.wal}x floor): ${verdict(walOf(waypoint) / walOf(floor), TARGET.wal)}`,
      `target (Waypoint step 200 <= ${TARGET.growth}x step 10): ${verdict(at(waypoint, 200) / at(waypoint, 10), TARGET.growth)}`,
      `issue 22 (Waypoint WAL <= ${LONG_TARGET.bytes}x floor): ${verdict(walOf(waypoint) / walOf(floor), LONG_TARGET.bytes)}`,
      `issue 22 (Waypoint slowest step <= ${LONG_TARGET.spread}x its median step): ${verdict(spreadOf(waypoint), LONG_TARGET.spread)}`,
    ].join("\n");
    recordFigure(
      "postgres",
      "growing 200: WAL",
      "bytes",
      SIDES.map((side) => [side.name, walOf(side)]),
    );
    const long = longThreadTable({
      suite: "postgres",
      bytesName: "WAL",
      loadName: "graph.getState from a new pool, checkpointer and graph; the floor reads every row",
      runs: new Map(
        LONG_SIDES.map((side) => [
          side.name,
          longGrowth.get(side)!.map((run) => ({ ...run, bytes: run.wal, loads: run.reloads })),
        ]),
      ),
      record: true,
      note: "LangGraph.js is left out: it rewrites the whole list every superstep (about 4 GB of WAL a run)",
    });

    const reload = (side: Side) => median(reloads.get(side)!.flat());
    recordFigure(
      "postgres",
      "growing 200: load",
      "ms",
      SIDES.map((side) => [side.name, reload(side)]),
    );
    const d = [
      `(d) loading the ${GROWTH.steps}-step thread from a new instance (new pool, new saver, new graph; ${RELOADS} per round)`,
      table([
        ["side", "ms", "vs floor"],
        ...SIDES.map((side) => [
          side.name,
          reload(side).toFixed(2),
          ratio(reload(side), reload(floor)),
        ]),
      ]),
      `target (Waypoint reload <= ${TARGET.reload}x floor's): ${verdict(reload(waypoint) / reload(floor), TARGET.reload)}`,
    ].join("\n");

    return [
      `PostgreSQL: Waypoint (PostgresCheckpointer) vs a raw floor (one INSERT per superstep, own transaction)`,
      `and LangGraph.js (PostgresSaver), durability "sync"; one local server: ${info}`,
      `(${WARM_UP_RUNS} warm-up runs of (a) per side, then median of ${CHAIN_ROUNDS} rounds for (a) and ${ROUNDS} for the others, each side first in turn;`,
      ` (a) and (c) keep one pool and schema per side for all their runs, each run on new threads)`,
      "",
      a,
      cold,
      "",
      b,
      "",
      c,
      "",
      d,
      "",
      resumeTable("postgres", resumed, table),
      "",
      long,
    ].join("\n");
  } finally {
    await langGraphProcess.stop();
    await langGraphSaverProcess.stop();
    await admin.end();
    await postgres.stop();
  }
}
