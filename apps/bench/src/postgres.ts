import {
  Annotation,
  END as LANGGRAPH_END,
  START as LANGGRAPH_START,
  StateGraph as LangGraphStateGraph,
} from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { startPostgres } from "@waypoint/test-services";
import { formatBytes, median, table } from "./measure.js";
import {
  CHAIN,
  FAN_OUT,
  GROWTH,
  RECURSION_LIMIT,
  RELOADS,
  WARM_UP_RUNS,
  chainLog,
  growthPayloads,
  chainShape,
  expectLog,
  fanOutShape,
  loopShape,
  nodesOf,
  nodesPerRun,
  payloadOf,
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
 * each run in its own fresh schema, durability "sync" on both runtimes.
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
const ROUNDS = 7;

const TARGET = { time: 1.5, wal: 2, growth: 1.2, reload: 2 };

interface Side {
  readonly name: string;
  open(pool: pg.Pool, schema: string, shape: Shape): Promise<Runner>;
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
    // What the app keeps in memory: each thread's log and next step number.
    const threads = new Map<string, { log: string[]; step: number }>();
    return {
      async run(threadId) {
        const thread = threads.get(threadId) ?? { log: [], step: 0 };
        threads.set(threadId, thread);
        await pool.query(insert, [threadId, thread.step++, "[]"]);
        for (let i = 0; i < nodesPerRun(shape); i += 1) {
          stamps.push(performance.now());
          const write = {
            node: "append",
            channel: "log",
            value: payloadOf(shape, thread.log.length),
          };
          await pool.query(insert, [threadId, thread.step++, JSON.stringify([write])]);
          thread.log.push(write.value);
        }
        return thread.log;
      },
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

const langGraph: Side = {
  name: "langgraph",
  async open(pool, schema, shape) {
    const saver = new PostgresSaver(pool, undefined, { schema });
    await saver.setup();
    const State = Annotation.Root({
      log: Annotation<string[], string>({ reducer: (a, b) => a.concat(b), default: () => [] }),
    });
    const { names, append } = nodesOf(shape);
    const builder = new LangGraphStateGraph(State).addNode(
      Object.fromEntries(names.map((name) => [name, append])),
    );
    builder.addEdge(LANGGRAPH_START, names[0]!);
    if (shape.kind === "chain") {
      for (let i = 1; i < names.length; i += 1) builder.addEdge(names[i - 1]!, names[i]!);
      builder.addEdge(names[names.length - 1]!, LANGGRAPH_END);
    } else {
      builder.addConditionalEdges("append", (state) =>
        state.log.length >= shape.steps ? LANGGRAPH_END : "append",
      );
    }
    const graph = builder.compile({ checkpointer: saver });
    const config = (threadId: string) => ({ configurable: { thread_id: threadId } });
    return {
      async run(threadId) {
        // LangGraph's default durability is "async"; "sync" matches Waypoint's.
        const options = {
          ...config(threadId),
          durability: "sync",
          recursionLimit: RECURSION_LIMIT,
        } as const;
        return ((await graph.invoke({}, options)) as { log: string[] }).log;
      },
      async load(threadId) {
        const snapshot = await graph.getState(config(threadId));
        return (snapshot.values as { log?: string[] }).log ?? [];
      },
    };
  },
};

const SIDES = [floor, waypoint, langGraph] as const;

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

  /** Starts from a fresh WAL checkpoint, so no run pays full-page images for another's pages. */
  async walStart(): Promise<string> {
    await this.admin.query("CHECKPOINT");
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

interface RunPlan {
  readonly side: Side;
  readonly shape: Shape;
  readonly poolSize: number;
  /** The measured part: its time and the WAL it writes. */
  readonly work: (runner: Runner) => Promise<void>;
  /** Checks what was stored, after the clock stops. */
  readonly verify: (runner: Runner) => Promise<void>;
  /** Keep the schema (for the reloads of (d)); the caller drops it. */
  readonly keep?: boolean;
}

/** Opens a side on a fresh schema, measures its work, verifies it; returns the schema too. */
async function measureRun(server: Server, plan: RunPlan): Promise<Run & { schema: string }> {
  const schema = server.schema(plan.side);
  const pool = server.pool(plan.poolSize);
  try {
    const runner = await plan.side.open(pool, schema, plan.shape);
    const lsn = await server.walStart();
    stamps.length = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    await plan.work(runner);
    const ms = performance.now() - start;
    const { user, system } = process.cpuUsage(cpu);
    const wal = await server.walSince(lsn);
    const starts = [start, ...stamps];
    const intervals = starts.slice(1).map((t, i) => t - starts[i]!);
    await plan.verify(runner);
    return { ms, wal, intervals, cpuMs: (user + system) / 1000, schema };
  } finally {
    await pool.end();
    if (plan.keep !== true) await server.drop(schema);
  }
}

function runChain(server: Server, side: Side): Promise<Run> {
  return measureRun(server, {
    side,
    shape: chainShape,
    poolSize: 2,
    async work(runner) {
      let log: readonly string[] = [];
      for (let i = 0; i < CHAIN.invocations; i += 1) log = await runner.run("chain");
      expectLog(side, "(a)", log, chainLog);
    },
    verify: async (runner) => expectLog(side, "(a) stored", await runner.load("chain"), chainLog),
  });
}

function runGrowth(server: Server, side: Side): Promise<Run & { schema: string }> {
  return measureRun(server, {
    side,
    shape: loopShape,
    poolSize: 2,
    work: async (runner) => expectLog(side, "(b)", await runner.run("grown"), growthPayloads),
    // (d) loads it, from new instances.
    verify: async () => undefined,
    keep: true,
  });
}

/** Loads the grown thread from new instances (new pool, new saver, freshly compiled graph). */
async function runReloads(server: Server, side: Side, schema: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RELOADS; i += 1) {
    const pool = server.pool(2);
    try {
      // Connecting and the saver's own setup are the same start-up cost on
      // every side, and not the reload: done before the clock starts.
      await pool.query("SELECT 1");
      const runner = await side.open(pool, schema, loopShape);
      const start = performance.now();
      const log = await runner.load("grown");
      times.push(performance.now() - start);
      expectLog(side, "(d)", log, growthPayloads);
    } finally {
      await pool.end();
    }
  }
  return times;
}

function runFanOut(server: Server, side: Side): Promise<Run> {
  return measureRun(server, {
    side,
    shape: fanOutShape,
    poolSize: FAN_OUT.concurrency,
    work: (runner) => fanOutWork(side, runner),
    verify: (runner) => fanOutVerify(side, runner),
  });
}

function timeTable(title: string, results: Map<Side, Run[]>, steps: number): string {
  const ms = (side: Side) => median(results.get(side)!.map((run) => run.ms)) / steps;
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
    for (const side of SIDES) {
      for (let i = 0; i < WARM_UP_RUNS; i += 1) await runChain(server, side);
    }

    const chain = await rounds(SIDES, ROUNDS, (side) => runChain(server, side));
    const growth = await rounds(SIDES, ROUNDS, (side) => runGrowth(server, side));
    // (d) reads each round's grown thread, then the schemas go.
    const reloads = await rounds(SIDES, ROUNDS, async (side, round) => {
      const { schema } = growth.get(side)![round]!;
      const times = await runReloads(server, side, schema);
      await server.drop(schema);
      return times;
    });
    const fanOut = await rounds(SIDES, ROUNDS, (side) => runFanOut(server, side));

    const a = timeTable(
      `(a) chain: ${CHAIN.nodes} nodes x ${CHAIN.invocations} invocations on one thread, ${CHAIN.bytes} B per node (ms per node superstep)`,
      chain,
      CHAIN.nodes * CHAIN.invocations,
    );
    const c = timeTable(
      `(c) ${FAN_OUT.threads} threads of a ${FAN_OUT.nodes}-node chain, ${FAN_OUT.concurrency} at a time (ms of wall time per node superstep)`,
      fanOut,
      FAN_OUT.threads * FAN_OUT.nodes,
    );

    const at = (side: Side, mark: number) =>
      median(growth.get(side)!.map((run) => stepTime(run.intervals, mark)));
    const walOf = (side: Side) => median(growth.get(side)!.map((run) => run.wal));
    const growthRows = SIDES.map((side) => [
      side.name,
      ...GROWTH.marks.map((mark) => at(side, mark).toFixed(3)),
      ratio(at(side, 200), at(side, 10)),
      median(growth.get(side)!.map((run) => Math.max(...run.intervals))).toFixed(2),
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
          "WAL",
          "WAL vs floor",
        ],
        ...growthRows,
      ]),
      `target (Waypoint WAL <= ${TARGET.wal}x floor): ${verdict(walOf(waypoint) / walOf(floor), TARGET.wal)}`,
      `target (Waypoint step 200 <= ${TARGET.growth}x step 10): ${verdict(at(waypoint, 200) / at(waypoint, 10), TARGET.growth)}`,
    ].join("\n");

    const reload = (side: Side) => median(reloads.get(side)!.flat());
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
      `(${WARM_UP_RUNS} warm-up runs of (a) per side, then median of ${ROUNDS} rounds, each side first in turn)`,
      "",
      a,
      "",
      b,
      "",
      c,
      "",
      d,
    ].join("\n");
  } finally {
    await admin.end();
    await postgres.stop();
  }
}
