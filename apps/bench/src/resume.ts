import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "./measure.js";
import { recordFigure } from "./results.js";
import {
  GROWTH,
  loopShape,
  payloadOf,
  ratio,
  verdict,
  waypointRunner,
  type Runner,
} from "./workloads.js";

/**
 * Resuming the grown 200-step thread (400 KB) in a new process (issue 22):
 * what a worker that takes a thread over after a crash or a deploy pays.
 * Each resume is a process of its own, so no code path is warm: it connects
 * (not timed: the same on every side), then loads the thread and runs one
 * more superstep, as Waypoint's `invoke` on the thread does (its input
 * checkpoint and the superstep's). The floor does what an app on the bare
 * client would: it reads every row back and writes two more (the input
 * step's `[]` and the superstep's writes), as its loop writes them. Each
 * process then does the same once more, timed apart: with its code warm,
 * which tells how much of the first is code running for the first time.
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
  /** The thread's log length before the process's first resume (200, then two more per process). */
  readonly logLength: number;
}

/** Resumes per side and round. */
export const RESUMES = 3;
export const RESUME_TARGET = { postgres: 1.2, redis: 1.3 } as const;

/** A process's two resumes, ms from their start to the superstep written: the first (cold), then the same again. */
export interface Timing {
  readonly cold: number;
  readonly warm: number;
}

/** A new process: connects, resumes (timed: cold), resumes again (timed: warm). */
export function resumeInNewProcess(request: ResumeRequest): Promise<Timing> {
  return new Promise((resolve, reject) => {
    // The child runs this file under the same loader (tsx) as the suite.
    const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(request)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: Timing | undefined;
    child.on("message", (message: Timing) => (result = message));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`resume (${request.backend} ${request.side}) exited with ${code}`));
    });
  });
}

/** `count` new processes for `side`, one after another; the thread grows by two steps in each. */
export async function resumes(
  request: Omit<ResumeRequest, "logLength">,
  count = RESUMES,
): Promise<Timing[]> {
  const times: Timing[] = [];
  for (let i = 0; i < count; i += 1) {
    times.push(await resumeInNewProcess({ ...request, logLength: GROWTH.steps + 2 * i }));
  }
  return times;
}

/** The table a suite prints, with the verdict. */
export function resumeTable(
  backend: ResumeBackend,
  times: ReadonlyMap<ResumeSide, readonly Timing[]>,
  table: (rows: string[][]) => string,
): string {
  const ms = (side: ResumeSide) => median(times.get(side)!.map((t) => t.cold));
  const warm = (side: ResumeSide) => median(times.get(side)!.map((t) => t.warm));
  const target = RESUME_TARGET[backend];
  recordFigure(backend, "resume 200 (new process)", "ms", [
    ["floor", ms("floor")],
    ["waypoint", ms("waypoint")],
  ]);
  return [
    `(e) resuming the ${GROWTH.steps}-step thread (${(GROWTH.steps * GROWTH.bytes) / 1024} KB) in a new process: connect (not timed), load, one more superstep`,
    `    (${RESUMES} per side and round, each in a process of its own; the floor reads every row and writes its two;`,
    `    then the same again in that process, its code warm: no target, it tells what is the cold code's)`,
    table([
      ["side", "ms", "vs floor", "again in the same process, ms", "vs floor"],
      ...(["floor", "waypoint"] as const).map((side) => [
        side,
        ms(side).toFixed(2),
        ratio(ms(side), ms("floor")),
        warm(side).toFixed(2),
        ratio(warm(side), warm("floor")),
      ]),
    ]),
    `issue 22 (Waypoint resume <= ${target}x the floor's): ${verdict(ms("waypoint") / ms("floor"), target)}`,
  ].join("\n");
}

const floorWrites = (logLength: number) => [
  "[]",
  JSON.stringify([{ node: "append", channel: "log", value: payloadOf(loopShape, logLength) }]),
];

/** A side's resume, opened in this process: one call per resume, with the log length before it. */
type Resume = (logLength: number) => Promise<number>;

/** Opens the side, runs `twice` resumes (cold, then warm), closes it. */
async function resumeTwice(
  open: () => Promise<{ resume: Resume; close: () => Promise<void> }>,
  logLength: number,
): Promise<Timing> {
  const { resume, close } = await open();
  try {
    const cold = await resume(logLength);
    const warm = await resume(logLength + 1);
    return { cold, warm };
  } finally {
    await close();
  }
}

async function openPostgres(request: ResumeRequest) {
  const [{ default: pg }, { PostgresCheckpointer }] = await Promise.all([
    import("pg"),
    import("@waypoint/checkpoint-postgres"),
  ]);
  const pool = new pg.Pool({ connectionString: request.url, max: 2 });
  const schema = request.schema!;
  const close = () => pool.end();
  if (request.side === "waypoint") {
    const checkpointer = new PostgresCheckpointer({ pool, schema });
    await checkpointer.setup();
    const runner = waypointRunner(loopShape, checkpointer);
    return { resume: invokeOnce(request, runner), close };
  }
  await pool.query("SELECT 1");
  const steps = `"${schema}".steps`;
  const resume: Resume = async (logLength) => {
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
    expectLength(request, logLength, log.length + 1);
    return ms;
  };
  return { resume, close };
}

async function openRedis(request: ResumeRequest) {
  const [{ Redis }, { RedisCheckpointer }] = await Promise.all([
    import("ioredis"),
    import("@waypoint/checkpoint-redis"),
  ]);
  const redis = new Redis(request.url);
  const close = async () => redis.disconnect();
  await redis.ping();
  if (request.side === "waypoint") {
    const runner = waypointRunner(loopShape, new RedisCheckpointer({ redis }));
    return { resume: invokeOnce(request, runner), close };
  }
  const key = (step: number) => `floor:${request.threadId}:${step}`;
  const resume: Resume = async (logLength) => {
    // As the floor's reload: told how many steps the thread has (its input step, then two per resume).
    const stored = 1 + GROWTH.steps + 2 * (logLength - GROWTH.steps);
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
    expectLength(request, logLength, log.length + 1);
    return ms;
  };
  return { resume, close };
}

/** Waypoint's resume: one invoke on the thread, timed. */
function invokeOnce(request: ResumeRequest, runner: Runner): Resume {
  return async (logLength) => {
    const start = performance.now();
    const log = await runner.run(request.threadId);
    const ms = performance.now() - start;
    expectLength(request, logLength, log.length);
    return ms;
  };
}

function expectLength(request: ResumeRequest, before: number, length: number): void {
  if (length !== before + 1) {
    throw new Error(
      `resume (${request.backend} ${request.side}): the log has ${length} entries, expected ${before + 1}`,
    );
  }
}

async function child(request: ResumeRequest): Promise<void> {
  const open = request.backend === "postgres" ? openPostgres : openRedis;
  const timing = await resumeTwice(() => open(request), request.logLength);
  process.send!(timing, () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  await child(JSON.parse(process.argv[2]!) as ResumeRequest);
}
