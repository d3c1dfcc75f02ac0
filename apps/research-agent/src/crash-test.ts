/**
 * `pnpm demo --crash`: the agent runs in a child process (a "worker") that is
 * killed with SIGKILL at random points and started again. Each new worker is
 * not told which thread to continue: it asks the checkpointer for unfinished
 * threads. The corpus server and the mail sink live in this process, so they
 * outlive the workers and count what reached them.
 *
 * At the end it checks what a user would: each page was fetched once, one
 * email went out, and the report equals that of the same agent run without
 * interruption (in memory, in this process).
 */
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  describeStore,
  freshStore,
  openCheckpointer,
  removeStore,
  type Backend,
  type Store,
} from "./backends.js";
import { BATCH_SIZE, DEFAULT_QUESTION, buildResearchAgent } from "./graph.js";
import { runAgent, type Progress } from "./run-agent.js";
import { corpusClient } from "./services/corpus.js";
import { startLocalServices } from "./services/local-services.js";
import { mailClient } from "./services/mail-sink.js";
import { ExtractiveSummariser } from "./services/summariser.js";

const KILLS = 3;
const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** What a worker prints, one `event <json>` line each. */
type WorkerEvent =
  | { type: "started"; threadId: string; resumedFrom: number | null; unfinished: number }
  | { type: "progress"; progress: Progress }
  | { type: "salvaged"; pageId: string; chars: number }
  | { type: "finished"; step: number };

/** The child process: resume the unfinished thread if there is one, else start one. */
export async function runWorker(options: {
  store: Store;
  corpusUrl: string;
  mailUrl: string;
  pages: number;
}): Promise<void> {
  const say = (event: WorkerEvent) => process.stdout.write(`event ${JSON.stringify(event)}\n`);
  const checkpointer = openCheckpointer(options.store);
  const agent = buildResearchAgent(
    {
      corpus: corpusClient(options.corpusUrl),
      mail: mailClient(options.mailUrl),
      model: new ExtractiveSummariser(),
    },
    checkpointer,
  );
  const { threads } = await checkpointer.listThreads({ status: "pending" });
  const unfinished = threads[0];
  const threadId = unfinished?.threadId ?? `research-${randomUUID().slice(0, 8)}`;
  say({
    type: "started",
    threadId,
    resumedFrom: unfinished?.step ?? null,
    unfinished: threads.length,
  });
  await runAgent(agent, {
    threadId,
    ...(unfinished === undefined ? { question: DEFAULT_QUESTION } : {}),
    pages: options.pages,
    onEvent: (event) =>
      say(
        event.type === "progress"
          ? { type: "progress", progress: event.progress }
          : { type: "salvaged", pageId: event.pageId, chars: event.text.length },
      ),
  });
  say({ type: "finished", step: (await agent.getState(threadId))!.step });
  await checkpointer.close();
}

export interface CrashTestResult {
  readonly backend: Backend;
  readonly pages: number;
  readonly threadId: string;
  readonly kills: number;
  /** The step each restarted worker resumed its thread from. */
  readonly resumedFrom: readonly (number | null)[];
  readonly salvagedSummaries: number;
  /** Pages requested at least once, and pages requested under exactly one idempotency key. */
  readonly pagesFetched: number;
  readonly pagesFetchedOnce: number;
  /** Requests for pages; more than `pages` when a kill cut a fetch short and it was repeated with its key. */
  readonly fetchRequests: number;
  readonly emailsSent: number;
  readonly emailRequests: number;
  readonly reportSha256: string;
  readonly expectedSha256: string;
  readonly reportMatches: boolean;
  readonly emailMatches: boolean;
  readonly ok: boolean;
}

export async function runCrashTest(options: {
  backend: Backend;
  pages: number;
  directory: string;
}): Promise<CrashTestResult> {
  const { backend, pages } = options;
  const store = freshStore(backend, options.directory);
  const local = await startLocalServices({ pages });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`Research agent, crash test: ${pages} pages, ${describeStore(store)}.`);
  log(
    `A worker process runs the agent; it is killed with SIGKILL at ${KILLS} random points and started again.\n`,
  );
  // The reference: the same agent, uninterrupted, in memory, with services of its own.
  const expected = expectedReport(pages);

  // Kill points: after a random number of the run's fetches and summaries, one
  // in each third of the run, none among its last 4 × BATCH_SIZE (so that no
  // worker can finish before its kill).
  const units = Math.max(2 * pages - 4 * BATCH_SIZE, KILLS);
  const killAfter = Array.from({ length: KILLS }, (_, k) =>
    Math.max(1, Math.floor(((k + Math.random()) * units) / KILLS)),
  );

  const workerArgs = [
    ...["--worker", "--backend", backend, "--store", store.location, "--pages", String(pages)],
    ...["--corpus-url", local.corpus.url, "--mail-url", local.mail.url],
  ];
  const runs: WorkerRun[] = [];
  do {
    const run = await superviseWorker({ args: workerArgs, killAfter: killAfter[runs.length] });
    runs.push(run);
    logWorker(runs.length, run, pages);
  } while (runs.at(-1)!.killed);
  const threadId = runs.at(-1)!.started.threadId;
  const resumedFrom = runs.slice(1).map((run) => run.started.resumedFrom);
  const kills = runs.filter((run) => run.killed).length;

  // What the outside world saw.
  const fetches = [...local.corpus.stats().pages.values()];
  const checkpointer = openCheckpointer(store);
  const agent = buildResearchAgent(local.services, checkpointer);
  const final = (await agent.getState(threadId))!.values;
  const { threads } = await checkpointer.listThreads();
  const emails = local.mail.delivered();
  const reference = await expected;
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  const pagesFetchedOnce = fetches.filter((page) => page.keys.size === 1).length;
  const reportMatches = final.report === reference;
  const emailMatches = emails.length === 1 && emails[0]!.body === reference;
  const result: CrashTestResult = {
    backend,
    pages,
    threadId,
    kills,
    resumedFrom,
    salvagedSummaries: runs.reduce((sum, run) => sum + run.salvaged.length, 0),
    pagesFetched: fetches.length,
    pagesFetchedOnce,
    fetchRequests: fetches.reduce((sum, page) => sum + page.requests, 0),
    emailsSent: emails.length,
    emailRequests: local.mail.requests(),
    reportSha256: sha(final.report ?? ""),
    expectedSha256: sha(reference),
    reportMatches,
    emailMatches,
    ok:
      pagesFetchedOnce === pages &&
      emails.length === 1 &&
      reportMatches &&
      emailMatches &&
      threads.length === 1 &&
      threads[0]!.status === "finished",
  };
  await removeStore(store, checkpointer);
  await local.close();

  const repeated = result.fetchRequests - pages;
  const steps = resumedFrom.map((step) => (step === null ? "(no checkpoint yet)" : `step ${step}`));
  log("");
  log(`Restarts resumed from: ${steps.join(", ")}`);
  log(
    `Pages:   ${result.pagesFetchedOnce}/${pages} fetched exactly once` +
      (repeated > 0
        ? ` (${result.fetchRequests} requests: ${repeated} cut short by a kill, repeated with the same idempotency key)`
        : ` (${result.fetchRequests} requests)`),
  );
  log(
    `Emails:  ${result.emailsSent} sent (${result.emailRequests} request${result.emailRequests === 1 ? "" : "s"} to the mail sink)`,
  );
  log(
    result.reportMatches
      ? `Report:  equal to the uninterrupted run's (sha256 ${result.reportSha256.slice(0, 16)}…)`
      : `Report:  DIFFERENT from the uninterrupted run's (sha256 ${result.reportSha256.slice(0, 16)}… vs ${result.expectedSha256.slice(0, 16)}…)`,
  );
  log(
    result.ok
      ? `OK: killed ${kills} times, same outcome as a run that never crashed.`
      : "FAILED: see above.",
  );
  log(`result ${JSON.stringify(result)}`);
  return result;
}

/** Runs the agent uninterrupted in memory and returns its report. */
async function expectedReport(pages: number): Promise<string> {
  const local = await startLocalServices({ pages });
  try {
    const agent = buildResearchAgent(local.services, new MemoryCheckpointer());
    const values = await runAgent(agent, {
      threadId: "reference",
      question: DEFAULT_QUESTION,
      pages,
    });
    return values.report ?? "";
  } finally {
    await local.close();
  }
}

function logWorker(worker: number, run: WorkerRun, pages: number): void {
  const indent = " ".repeat(24);
  const { threadId, resumedFrom } = run.started;
  const lines = [
    resumedFrom === null
      ? `started thread ${threadId}`
      : `found unfinished thread ${threadId} at step ${resumedFrom}, resumed it`,
  ];
  if (run.salvaged.length > 0) {
    const pieces = run.salvaged.map((s) => `${s.pageId} (${s.chars} chars)`).join(", ");
    lines.push(`salvaged the cut-off summaries of ${pieces}`);
  }
  const last = run.progress;
  lines.push(
    run.killed
      ? `SIGKILL during step ${(last?.step ?? -1) + 1}: ${last?.fetched ?? 0}/${pages} pages fetched, ${last?.summarised ?? 0} summarised`
      : `finished at step ${run.finished!.step}`,
  );
  const first = `  worker ${worker} (pid ${run.pid})`.padEnd(indent.length);
  process.stdout.write(`${first}${lines.join(`\n${indent}`)}\n`);
}

interface WorkerRun {
  readonly pid: number;
  readonly killed: boolean;
  readonly started: Extract<WorkerEvent, { type: "started" }>;
  readonly progress: Progress | undefined;
  readonly salvaged: Extract<WorkerEvent, { type: "salvaged" }>[];
  readonly finished: Extract<WorkerEvent, { type: "finished" }> | undefined;
}

/**
 * Starts a worker and follows its events; once it has done `killAfter`
 * fetches and summaries, waits a random few milliseconds (so the kill lands
 * mid-superstep) and kills it with SIGKILL.
 */
async function superviseWorker(options: {
  args: string[];
  killAfter: number | undefined;
}): Promise<WorkerRun> {
  const child = spawn(
    process.execPath,
    ["--conditions=@waypoint/source", "--import", "tsx", MAIN, ...options.args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const run = {
    pid: child.pid ?? 0,
    killed: false,
    started: undefined as WorkerRun["started"] | undefined,
    progress: undefined as Progress | undefined,
    salvaged: [] as WorkerRun["salvaged"],
    finished: undefined as WorkerRun["finished"],
  };
  let killScheduled = false;
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("event ")) return;
    const event = JSON.parse(line.slice("event ".length)) as WorkerEvent;
    if (event.type === "started") run.started = event;
    if (event.type === "salvaged") run.salvaged.push(event);
    if (event.type === "finished") run.finished = event;
    if (event.type !== "progress") return;
    run.progress = event.progress;
    const done = event.progress.fetched + event.progress.summarised;
    if (options.killAfter !== undefined && done >= options.killAfter && !killScheduled) {
      killScheduled = true;
      setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 40));
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  run.killed = signal === "SIGKILL";
  if (!run.killed && (code !== 0 || run.finished === undefined)) {
    throw new Error(`worker ${run.pid} exited with ${signal ?? code}:\n${stderr}`);
  }
  const started = run.started;
  if (started === undefined) throw new Error(`worker ${run.pid} printed nothing:\n${stderr}`);
  return { ...run, started };
}
