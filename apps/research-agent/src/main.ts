/**
 * pnpm demo [--backend memory|sqlite|postgres|redis] [--pages <n>] [--thread <id>]
 *   Runs the research agent on a new thread (or resumes / shows --thread) and
 *   prints the report.
 * pnpm demo --crash [--backend sqlite|postgres|redis] [--pages <n>]
 *   Runs it in a child process, kills that with SIGKILL three times, restarts
 *   it each time, and checks the outcome against an uninterrupted run.
 *
 * pnpm demo --otel [...]
 *   The same, traced with OpenTelemetry: prints the run's spans as a tree at
 *   the end (src/otel.ts shows how to add a trace exporter).
 *
 * Postgres and Redis are reached through PG_URL and REDIS_URL.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BACKENDS,
  demoStore,
  describeStore,
  inspectCommand,
  openCheckpointer,
  type Backend,
} from "./backends.js";
import { runCrashTest, runWorker } from "./crash-test.js";
import { DEFAULT_QUESTION, REPORT_TO, buildResearchAgent } from "./graph.js";
import { progressBar } from "./progress-bar.js";
import { runAgent } from "./run-agent.js";
import { startLocalServices } from "./services/local-services.js";
import { startTracing } from "./otel.js";

const { values: args } = parseArgs({
  options: {
    backend: { type: "string", default: "sqlite" },
    pages: { type: "string", default: "60" },
    thread: { type: "string" },
    crash: { type: "boolean", default: false },
    otel: { type: "boolean", default: false },
    // Used by --crash for its child processes.
    worker: { type: "boolean", default: false },
    store: { type: "string" },
    "corpus-url": { type: "string" },
    "mail-url": { type: "string" },
  },
});

// `pnpm demo | head` closes the pipe early: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});

const backend = args.backend as Backend;
if (!BACKENDS.includes(backend)) fail(`--backend must be one of ${BACKENDS.join(", ")}`);
const pages = Number(args.pages);
if (!Number.isInteger(pages) || pages < 1) fail("--pages must be a positive integer");
// `pnpm demo` runs this in apps/research-agent; keep .waypoint/ where the user ran it.
const directory = join(process.env.INIT_CWD ?? process.cwd(), ".waypoint");

if (args.worker) {
  await runWorker({
    store: { backend, location: args.store ?? "" },
    corpusUrl: args["corpus-url"] ?? "",
    mailUrl: args["mail-url"] ?? "",
    pages,
  });
} else if (args.crash) {
  if (backend === "memory") fail("--crash needs a backend that outlives a process");
  const report = await runCrashTest({ backend, pages, directory });
  process.exitCode = report.ok ? 0 : 1;
} else {
  const tracing = args.otel ? startTracing() : undefined;
  try {
    await demo();
  } finally {
    await tracing?.shutdown();
  }
}

async function demo(): Promise<void> {
  const store = demoStore(backend, directory);
  const checkpointer = openCheckpointer(store);
  const local = await startLocalServices({ pages });
  const agent = buildResearchAgent(local.services, checkpointer);
  try {
    const threadId = args.thread ?? `research-${randomUUID().slice(0, 8)}`;
    const existing = await agent.getState(threadId);
    if (existing !== undefined && existing.next.length === 0) {
      const { values } = existing;
      console.log(
        `Thread ${threadId}, ${describeStore(store)}: finished at step ${existing.step}.`,
      );
      console.log(
        `${Object.keys(values.pages).length} pages fetched, ${Object.keys(values.summaries).length} summarised, report emailed as ${values.emailed?.messageId}.\n`,
      );
      console.log(values.report);
      printInspectCommand();
      return;
    }

    console.log(
      existing === undefined
        ? `Research agent: ${pages} pages, ${describeStore(store)}, thread ${threadId}`
        : `Research agent: resuming thread ${threadId} from step ${existing.step}, ${describeStore(store)}`,
    );
    console.log(
      `Corpus ${local.corpus.url} · mail sink ${local.mail.url} · local extractive summariser\n`,
    );
    const bar = progressBar();
    const result = await runAgent(agent, {
      threadId,
      ...(existing === undefined ? { question: DEFAULT_QUESTION } : {}),
      pages,
      onEvent: (event) =>
        event.type === "progress"
          ? bar.update(event.progress, event.checkpointed)
          : bar.note(`  (salvaged ${event.text.length} characters of ${event.pageId}'s summary)`),
    });
    bar.finish();

    console.log(
      `\nEmailed the report to ${REPORT_TO} (${result.emailed?.messageId}; messages in the mail sink: ${local.mail.delivered().length}).\n`,
    );
    console.log(result.report);
    console.log(`\nShow it again: pnpm demo --backend ${backend} --thread ${threadId}`);

    const { threads } = await checkpointer.listThreads({ status: "pending" });
    if (threads.length > 0) {
      const list = threads.map((t) => `${t.threadId} (step ${t.step})`).join(", ");
      console.log(`Unfinished threads in this store: ${list}; resume one with --thread <id>.`);
    }
    printInspectCommand();
  } finally {
    await local.close();
    await checkpointer.close();
  }
}

function printInspectCommand(): void {
  const command = inspectCommand(demoStore(backend, directory));
  if (command !== undefined) console.log(`Look at it in the inspector: ${command}`);
}

function fail(message: string): never {
  console.error(`research-agent: ${message}`);
  process.exit(2);
}
