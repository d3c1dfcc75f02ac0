/**
 * `--crash`: the supervisor runs in a child process (a worker) that is
 * killed with SIGKILL at each kill point in turn, first after the
 * researcher's write reached the sink but before Waypoint recorded it, then
 * between the two handoffs; each new worker finds the unfinished thread by
 * itself and resumes it. The sink is a file this process reads at the end.
 *
 * It checks what a user would: each agent's write was applied once (a
 * repeated attempt carries the same idempotency key), and the conversation
 * equals that of the same graph run without interruption.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { KILL_POINTS, buildSupervisor, transcript, type KillPoint } from "./graph.js";
import { runThread } from "./run-thread.js";
import { DedupSink, tally, type Tally } from "./sink.js";
import type { WorkerEvent } from "./worker.js";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const KILLS: readonly KillPoint[] = ["after-research-effect", "between-handoffs"];

export interface CrashTestResult {
  readonly threadId: string;
  readonly kills: readonly KillPoint[];
  /** The step each restarted worker resumed the thread from. */
  readonly resumedFrom: readonly (number | null)[];
  readonly sink: Tally;
  /** Every key the sink saw was applied exactly once. */
  readonly eachKeyAppliedOnce: boolean;
  readonly transcriptMatches: boolean;
  readonly ok: boolean;
}

export async function runCrashTest(options: { directory: string }): Promise<CrashTestResult> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  mkdirSync(options.directory, { recursive: true });
  const id = randomUUID().slice(0, 8);
  const db = join(options.directory, `supervisor-crash-${id}.db`);
  const sinkFile = join(options.directory, `supervisor-crash-${id}.sink.jsonl`);
  const shown = (file: string) => relative(process.env.INIT_CWD ?? process.cwd(), file);
  log(`Supervisor, crash test: SQLite (${shown(db)}), sink ${shown(sinkFile)}.`);
  log(
    `A worker process runs the supervisor; it is killed with SIGKILL at ${KILLS.length} points and started again.\n`,
  );
  const expected = await uninterruptedTranscript();

  const runs: WorkerRun[] = [];
  do {
    const killAt = KILLS[runs.length];
    const run = await superviseWorker([
      ...["--worker", "--db", db, "--sink", sinkFile],
      ...(killAt === undefined ? [] : ["--kill-at", killAt]),
    ]);
    runs.push(run);
    logWorker(runs.length, run);
  } while (runs.at(-1)!.killedAt !== undefined);

  const finished = runs.at(-1)!.finished!;
  const entries = new DedupSink(sinkFile).entries();
  const keys = new Set(entries.map((e) => e.key));
  const eachKeyAppliedOnce = [...keys].every(
    (key) => entries.filter((e) => e.key === key && e.applied).length === 1,
  );
  const sink = tally(entries);
  const transcriptMatches = isDeepStrictEqual(finished.transcript, expected);
  const result: CrashTestResult = {
    threadId: finished.threadId,
    kills: runs.flatMap((run) => (run.killedAt === undefined ? [] : [run.killedAt])),
    resumedFrom: runs.slice(1).map((run) => run.started.resumedFrom),
    sink,
    eachKeyAppliedOnce,
    transcriptMatches,
    ok:
      eachKeyAppliedOnce &&
      sink.researcher.applied === 1 &&
      sink.writer.applied === 1 &&
      transcriptMatches &&
      finished.next.length === 0,
  };
  for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
  rmSync(sinkFile, { force: true });

  const attempts = (n: number) => `${n} attempt${n === 1 ? "" : "s"}`;
  log("");
  for (const agent of ["researcher", "writer"] as const) {
    const { attempts: tried, applied } = sink[agent];
    log(
      `${`${agent}:`.padEnd(12)}${applied} write applied by the sink (${attempts(tried)}${tried > applied ? ", repeated with the same idempotency key" : ""})`,
    );
  }
  log(
    transcriptMatches
      ? `Conversation: equal to the uninterrupted run's (${finished.transcript.length} messages)`
      : "Conversation: DIFFERENT from the uninterrupted run's",
  );
  log(
    result.ok
      ? `OK: killed ${result.kills.length} times, each agent's effects happened once.`
      : "FAILED: see above.",
  );
  log(`result ${JSON.stringify(result)}`);
  return result;
}

/** The same graph run in memory, with a sink of its own. */
async function uninterruptedTranscript() {
  const directory = mkdtempSync(join(tmpdir(), "waypoint-supervisor-"));
  try {
    const graph = buildSupervisor({
      checkpointer: new MemoryCheckpointer(),
      sink: new DedupSink(join(directory, "sink.jsonl")),
    });
    const state = await runThread(graph, { threadId: "reference" });
    return transcript(state.values.messages);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

interface WorkerRun {
  readonly pid: number;
  readonly started: Extract<WorkerEvent, { type: "started" }>;
  readonly turns: Extract<WorkerEvent, { type: "turn" }>[];
  readonly killedAt: KillPoint | undefined;
  readonly finished: Extract<WorkerEvent, { type: "finished" }> | undefined;
}

/** Starts a worker, follows its events, and kills it with SIGKILL when it reaches its kill point. */
async function superviseWorker(args: string[]): Promise<WorkerRun> {
  const child = spawn(
    process.execPath,
    ["--conditions=@waypoint/source", "--import", "tsx", MAIN, ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let started: WorkerRun["started"] | undefined;
  let killedAt: KillPoint | undefined;
  let finished: WorkerRun["finished"];
  const turns: WorkerRun["turns"] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("event ")) return;
    const event = JSON.parse(line.slice("event ".length)) as WorkerEvent;
    if (event.type === "started") started = event;
    if (event.type === "turn") turns.push(event);
    if (event.type === "finished") finished = event;
    if (event.type === "kill-point") {
      killedAt = event.point;
      child.kill("SIGKILL");
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  if (killedAt !== undefined ? signal !== "SIGKILL" : code !== 0 || finished === undefined) {
    throw new Error(`worker ${child.pid} exited with ${signal ?? code}:\n${stderr}`);
  }
  if (started === undefined) throw new Error(`worker ${child.pid} printed nothing:\n${stderr}`);
  return { pid: child.pid ?? 0, started, turns, killedAt, finished };
}

function logWorker(worker: number, run: WorkerRun): void {
  const indent = " ".repeat(24);
  const { threadId, resumedFrom } = run.started;
  const lines = [
    resumedFrom === null
      ? `started thread ${threadId}`
      : `found unfinished thread ${threadId} at step ${resumedFrom}, resumed it`,
    ...run.turns.map((turn) => `  ${turn.agent.padEnd(11)} ${turn.text}`),
    run.killedAt !== undefined
      ? `SIGKILL ${KILL_POINTS[run.killedAt]}`
      : `finished at step ${run.finished!.step}`,
  ];
  const first = `  worker ${worker} (pid ${run.pid})`.padEnd(indent.length);
  process.stdout.write(`${first}${lines.join(`\n${indent}`)}\n`);
}
