/**
 * pnpm supervisor [--thread <id>]
 *   Runs the supervisor on a new thread (or resumes / shows --thread) on
 *   SQLite, and prints the conversation with the agent that wrote each
 *   message, then what each agent's tools did to the sink.
 * pnpm supervisor --crash
 *   Runs it in a child process, kills that with SIGKILL after the
 *   researcher's write and between the two handoffs, restarts it each time,
 *   and checks that each agent's effects happened once.
 */
import { randomUUID } from "node:crypto";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { runCrashTest } from "./crash-test.js";
import { buildSupervisor } from "./graph.js";
import { describe, runThread } from "./run-thread.js";
import { DedupSink } from "./sink.js";
import { isKillPoint, runWorker } from "./worker.js";

const { values: args } = parseArgs({
  options: {
    thread: { type: "string" },
    crash: { type: "boolean", default: false },
    // Used by --crash for its child processes, and by the crash test.
    worker: { type: "boolean", default: false },
    db: { type: "string" },
    sink: { type: "string" },
    "kill-at": { type: "string" },
  },
});

// `pnpm supervisor | head` closes the pipe early: stop quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});

// `pnpm supervisor` runs this in apps/supervisor; keep .waypoint/ where the user ran it.
const cwd = process.env.INIT_CWD ?? process.cwd();
const directory = join(cwd, ".waypoint");

if (args.worker) {
  const killAt = args["kill-at"];
  if (killAt !== undefined && !isKillPoint(killAt)) fail(`unknown --kill-at ${killAt}`);
  if (args.db === undefined || args.sink === undefined) fail("--worker needs --db and --sink");
  await runWorker({ db: args.db, sink: args.sink, threadId: args.thread, killAt });
} else if (args.crash) {
  const result = await runCrashTest({ directory });
  process.exitCode = result.ok ? 0 : 1;
} else {
  await demo();
}

async function demo(): Promise<void> {
  const db = join(directory, "supervisor.db");
  const sink = new DedupSink(join(directory, "supervisor-sink.jsonl"));
  const checkpointer = new SqliteCheckpointer(db);
  const graph = buildSupervisor({ checkpointer, sink });
  try {
    const threadId = args.thread ?? `supervisor-${randomUUID().slice(0, 8)}`;
    const existing = await graph.getState(threadId);
    const where = `SQLite (${relative(cwd, db)})`;
    if (existing !== undefined && existing.next.length === 0) {
      console.log(`Thread ${threadId}, ${where}: finished at step ${existing.step}.\n`);
      for (const message of existing.values.messages) {
        console.log(`  ${message.getType().padEnd(11)} ${describe(message)}`);
      }
      return;
    }
    console.log(
      existing === undefined
        ? `Supervisor with two agents (researcher, writer) as subgraphs: ${where}, thread ${threadId}\n`
        : `Supervisor: resuming thread ${threadId} from step ${existing.step}, ${where}\n`,
    );
    const before = sink.entries().length;
    const state = await runThread(graph, {
      threadId,
      onTurn: (turn) => console.log(`  ${turn.agent.padEnd(11)} ${turn.text}`),
    });

    console.log(
      `\nFinished at step ${state.step}. What reached the sink (${relative(cwd, sink.file)}):`,
    );
    for (const entry of sink.entries().slice(before)) {
      const outcome = entry.applied ? "applied" : "dropped, a repeat";
      console.log(
        `  ${entry.agent.padEnd(11)} ${entry.payload} (key ${entry.key.slice(0, 8)}…, ${outcome})`,
      );
    }
    console.log(`\nShow it again: pnpm supervisor --thread ${threadId}`);
  } finally {
    await checkpointer.close();
  }
}

function fail(message: string): never {
  console.error(`supervisor: ${message}`);
  process.exit(2);
}
