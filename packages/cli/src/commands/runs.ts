import {
  RUN_STATUSES,
  RunNotFoundError,
  type RunRecord,
  type RunStatus,
} from "@waypoint/checkpoint";
import { createClient, type RunsClient } from "@waypoint/core";
import type { Command } from "commander";
import {
  leaf,
  positiveInteger,
  withStore,
  type CommonOptions,
  type Context,
} from "../internal/context.js";
import { paintStatus, relativeTime, table } from "../internal/format.js";
import { UsageError, type Io } from "../internal/io.js";

interface ListOptions extends CommonOptions {
  readonly thread?: string;
  readonly status?: readonly string[];
  readonly limit?: number;
  readonly before?: string;
}

const collect = (value: string, previous: readonly string[] = []) => [...previous, value];

function parseStatuses(values: readonly string[]): RunStatus[] {
  const statuses = values.flatMap((value) => value.split(","));
  for (const status of statuses)
    if (!(RUN_STATUSES as readonly string[]).includes(status))
      throw new UsageError(
        `--status takes ${RUN_STATUSES.join(", ")}; got ${JSON.stringify(status)}`,
      );
  return statuses as RunStatus[];
}

function runsOf(context: Context): RunsClient {
  return createClient({ checkpointer: context.store.checkpointer }).runs;
}

function runText(context: Context, run: RunRecord & { graphVersion?: unknown }): string {
  const { paint } = context;
  const when = (date: Date | null) =>
    date === null ? "-" : `${date.toISOString()} (${relativeTime(date)})`;
  const rows: [string, string][] = [
    ["run", run.id],
    ["thread", run.threadId],
    [
      "graph",
      run.graph +
        ("graphVersion" in run
          ? ` (version ${typeof run.graphVersion === "string" || typeof run.graphVersion === "number" ? run.graphVersion : "-"})`
          : ""),
    ],
    ["status", paintStatus(paint, run.status) + (run.control ? ` (${run.control} requested)` : "")],
    ["strategy", run.strategy],
    ["attempts", `${run.attempts} of ${run.maxAttempts}`],
    ["worker", run.workerId ?? "-"],
    ["lease until", when(run.leaseExpiresAt)],
    ["fencing token", String(run.token)],
    ["created", when(run.createdAt)],
    ["started", when(run.startedAt)],
    ["ended", when(run.endedAt)],
  ];
  if (run.error) rows.push(["error", `${run.error.code ?? run.error.name}: ${run.error.message}`]);
  if (Object.keys(run.metadata).length > 0) rows.push(["metadata", JSON.stringify(run.metadata)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${paint.dim(label.padEnd(width))}  ${value}`).join("\n");
}

/** cancel, pause, resume: one run, printed as it is afterwards. */
function control(runs: Command, io: Io, name: "cancel" | "pause" | "resume", description: string) {
  leaf(runs, name, description)
    .argument("<run>", "run id")
    .action((runId: string, options: CommonOptions) =>
      withStore(io, options, async (context) => {
        const run = await runsOf(context)[name](runId);
        context.emit(
          { run },
          () =>
            `${name}: run ${run.id} is ${paintStatus(context.paint, run.status)}${run.control ? ` (${run.control} requested; its worker acts at the next superstep)` : ""}`,
        );
      }),
    );
}

export function registerRuns(program: Command, io: Io): void {
  const runs = program
    .command("runs")
    .description("queued runs: list, show, cancel, pause, resume");
  leaf(runs, "list", "runs, newest first")
    .option("--thread <thread>", "only runs of this thread")
    .option(
      "--status <status>",
      `only runs in this state: ${RUN_STATUSES.join(", ")} (repeat or comma-separate)`,
      collect,
    )
    .option(
      "--limit <n>",
      "at most this many (default 20, at most 1000)",
      positiveInteger("--limit"),
    )
    .option("--before <run>", "only runs created before this one (the next page)")
    .action((options: ListOptions) =>
      withStore(io, options, async (context) => {
        const limit = options.limit ?? 20;
        const list = await runsOf(context).list({
          limit,
          ...(options.thread === undefined ? {} : { threadId: options.thread }),
          ...(options.status === undefined ? {} : { status: parseStatuses(options.status) }),
          ...(options.before === undefined ? {} : { before: options.before }),
        });
        const nextBefore = list.length === limit ? list[list.length - 1]!.id : null;
        context.emit({ runs: list, nextBefore }, () => {
          if (list.length === 0) return "No runs.";
          const { paint } = context;
          const rows = list.map((run) => [
            run.id,
            run.threadId,
            run.graph,
            paintStatus(paint, run.status) + (run.control ? paint.dim(` (${run.control})`) : ""),
            `${run.attempts}/${run.maxAttempts}`,
            run.workerId ?? "-",
            relativeTime(run.createdAt),
          ]);
          const text = table(
            ["RUN", "THREAD", "GRAPH", "STATUS", "ATTEMPTS", "WORKER", "CREATED"],
            rows,
          );
          return nextBefore === null ? text : `${text}\n\nOlder: --before ${nextBefore}`;
        });
      }),
    );
  leaf(runs, "show", "one run: status, attempts, worker, lease, fencing token, graph version")
    .argument("<run>", "run id")
    .action((runId: string, options: CommonOptions) =>
      withStore(io, options, async (context) => {
        const run = await runsOf(context).get(runId);
        if (run === undefined) throw new RunNotFoundError(runId);
        context.emit({ run }, () => runText(context, run));
      }),
    );
  control(runs, io, "cancel", "cancel a run (a running one at its worker's next step)");
  control(runs, io, "pause", "pause a run at its next superstep boundary");
  control(runs, io, "resume", "queue a paused run again");
}
