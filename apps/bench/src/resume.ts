import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "./measure.js";
import { recordFigure } from "./results.js";
import { GROWTH, loopShape, payloadOf, ratio, verdict, waypointRunner } from "./workloads.js";

/**
 * Resuming the grown 200-step thread (400 KB) in a new process (issue 22):
 * what a worker that takes a thread over after a crash or a deploy pays.
 * Each resume is a process of its own, so no code path is warm: it connects
 * (not timed: the same on every side), then loads the thread and runs one
 * more superstep, as Waypoint's `invoke` on the thread does (its input
 * checkpoint and the superstep's). The floor does what an app on the bare
 * client would: it reads every row back and writes two more (the input
 * step's `[]` and the superstep's writes), as its loop writes them.
 */
export type ResumeBackend = "postgres" | "redis";
export type ResumeSide = "floor" | "waypoint";

export interface ResumeRequest {
  readonly backend: ResumeBackend;
  readonly side: ResumeSide;
  readonly url: string;
  /** PostgreSQL: the schema the thread was grown in. */
  readonly schema?: string;
  readonly threadId: string;
  /** The thread's log length before this resume (200, then one more per resume). */
  readonly logLength: number;
}

/** Resumes per side and round. */
export const RESUMES = 3;
export const RESUME_TARGET = { postgres: 1.2, redis: 1.3 } as const;

/** One resume in a new process: its ms from connected to the superstep written. */
export function resumeInNewProcess(request: ResumeRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    // The child runs this file under the same loader (tsx) as the suite.
    const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(request)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: number | undefined;
    child.on("message", (message: { ms: number }) => (result = message.ms));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`resume (${request.backend} ${request.side}) exited with ${code}`));
    });
  });
}

/** `count` resumes of `side` one after another, each in a new process; the thread grows by one step each. */
export async function resumes(
  request: Omit<ResumeRequest, "logLength">,
  count = RESUMES,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    times.push(await resumeInNewProcess({ ...request, logLength: GROWTH.steps + i }));
  }
  return times;
}

/** The table a suite prints, with the verdict. */
export function resumeTable(
  backend: ResumeBackend,
  times: ReadonlyMap<ResumeSide, readonly number[]>,
  table: (rows: string[][]) => string,
): string {
  const ms = (side: ResumeSide) => median(times.get(side)!);
  const target = RESUME_TARGET[backend];
  recordFigure(backend, "resume 200 (new process)", "ms", [
    ["floor", ms("floor")],
    ["waypoint", ms("waypoint")],
  ]);
  return [
    `(e) resuming the ${GROWTH.steps}-step thread (${(GROWTH.steps * GROWTH.bytes) / 1024} KB) in a new process: connect (not timed), load, one more superstep`,
    `    (${RESUMES} per side and round, each in a process of its own; the floor reads every row and writes its two)`,
    table([
      ["side", "ms", "vs floor"],
      ...(["floor", "waypoint"] as const).map((side) => [
        side,
        ms(side).toFixed(2),
        ratio(ms(side), ms("floor")),
      ]),
    ]),
    `issue 22 (Waypoint resume <= ${target}x the floor's): ${verdict(ms("waypoint") / ms("floor"), target)}`,
  ].join("\n");
}

const floorWrites = (logLength: number) => [
  "[]",
  JSON.stringify([{ node: "append", channel: "log", value: payloadOf(loopShape, logLength) }]),
];

async function resumePostgres(request: ResumeRequest): Promise<number> {
  const [{ default: pg }, { PostgresCheckpointer }] = await Promise.all([
    import("pg"),
    import("@waypoint/checkpoint-postgres"),
  ]);
  const pool = new pg.Pool({ connectionString: request.url, max: 2 });
  const schema = request.schema!;
  try {
    if (request.side === "waypoint") {
      const checkpointer = new PostgresCheckpointer({ pool, schema });
      await checkpointer.setup();
      const runner = waypointRunner(loopShape, checkpointer);
      const start = performance.now();
      const log = await runner.run(request.threadId);
      const ms = performance.now() - start;
      expectLength(request, log.length);
      return ms;
    }
    await pool.query("SELECT 1");
    const steps = `"${schema}".steps`;
    const start = performance.now();
    const { rows } = await pool.query<{ data: string; step: number }>(
      `SELECT data, step FROM ${steps} WHERE thread_id = $1 ORDER BY id`,
      [request.threadId],
    );
    const log = rows.flatMap((row) =>
      (JSON.parse(row.data) as { value: string }[]).map((w) => w.value),
    );
    let step = rows[rows.length - 1]!.step;
    for (const data of floorWrites(log.length)) {
      await pool.query(`INSERT INTO ${steps} (thread_id, step, data) VALUES ($1, $2, $3)`, [
        request.threadId,
        ++step,
        data,
      ]);
    }
    const ms = performance.now() - start;
    expectLength(request, log.length + 1);
    return ms;
  } finally {
    await pool.end();
  }
}

async function resumeRedis(request: ResumeRequest): Promise<number> {
  const [{ Redis }, { RedisCheckpointer }] = await Promise.all([
    import("ioredis"),
    import("@waypoint/checkpoint-redis"),
  ]);
  const redis = new Redis(request.url);
  try {
    await redis.ping();
    if (request.side === "waypoint") {
      const runner = waypointRunner(loopShape, new RedisCheckpointer({ redis }));
      const start = performance.now();
      const log = await runner.run(request.threadId);
      const ms = performance.now() - start;
      expectLength(request, log.length);
      return ms;
    }
    // As the floor's reload: told how many steps the thread has (its input step, then one per superstep).
    const stored = 1 + GROWTH.steps + 2 * (request.logLength - GROWTH.steps);
    const key = (step: number) => `floor:${request.threadId}:${step}`;
    const start = performance.now();
    const values = await redis.mget(Array.from({ length: stored }, (_, step) => key(step)));
    const log = values.flatMap((data) => {
      if (data === null)
        throw new Error(`resume (redis floor): a key of ${request.threadId} is missing`);
      return (JSON.parse(data) as { value: string }[]).map((w) => w.value);
    });
    let step = stored;
    for (const data of floorWrites(log.length)) await redis.set(key(step++), data);
    const ms = performance.now() - start;
    expectLength(request, log.length + 1);
    return ms;
  } finally {
    redis.disconnect();
  }
}

function expectLength(request: ResumeRequest, length: number): void {
  if (length !== request.logLength + 1) {
    throw new Error(
      `resume (${request.backend} ${request.side}): the log has ${length} entries, expected ${request.logLength + 1}`,
    );
  }
}

async function child(request: ResumeRequest): Promise<void> {
  const ms = await (request.backend === "postgres"
    ? resumePostgres(request)
    : resumeRedis(request));
  process.send!({ ms }, () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  await child(JSON.parse(process.argv[2]!) as ResumeRequest);
}
