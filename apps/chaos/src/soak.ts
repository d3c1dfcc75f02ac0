import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@waypoint/core";
import { checkEffects, checkThreads, spawnWorker, uniform } from "./chaos.js";
import { CHAOS_STEPS } from "./graph.js";
import { startSink } from "./sink.js";
import { openStore, type ChaosStore } from "./stores.js";

export interface SoakOptions {
  readonly store: ChaosStore;
  /** Stop queueing runs once this many workers were killed with SIGKILL (`pnpm chaos --soak`: 1,000). */
  readonly kills: number;
  /** Worker processes alive at any time (default 4). */
  readonly workers?: number;
  /** Runs each worker takes at once (default 2). */
  readonly concurrency?: number;
  /** A random worker is killed every this many ms, drawn uniformly (default 300–900). */
  readonly killEveryMs?: readonly [number, number];
  /** Restarts the store's server (PostgreSQL, Redis); none for SQLite. */
  readonly restart?: () => Promise<void>;
  /** The server is restarted every this many ms, drawn uniformly (default 5–10 s). */
  readonly restartEveryMs?: readonly [number, number];
  /** Runs kept queued or running while the soak goes on (default 24). */
  readonly openRuns?: number;
  readonly stepMs?: number;
  readonly leaseMs?: number;
  /** Give up after this long (default 60 minutes). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface SoakReport {
  readonly backend: string;
  readonly kills: number;
  readonly restarts: number;
  readonly workersStarted: number;
  readonly runs: number;
  readonly succeeded: number;
  /** Runs that did not succeed, each with its status and error: must be 0. */
  readonly lostRuns: readonly string[];
  readonly effectsApplied: number;
  /** Requests the sink answered from its record (sent again under the same key after a kill). */
  readonly effectsRepeated: number;
  /** Steps applied under two keys (twice at the sink), or never: must be empty. */
  readonly effectErrors: readonly string[];
  /** Threads that are not one chain of 11 checkpoints (two heads, or steps missing): must be empty. */
  readonly forkedThreads: readonly string[];
  /** Threads whose final log is not 1..10: must be empty. */
  readonly wrongStates: readonly string[];
  /** Calls of this process that failed while the server was down (expected, retried). */
  readonly outageErrors: number;
  readonly seconds: number;
}

/**
 * A soak in the spirit of DBOS's chaos tests: worker processes take runs of
 * the 10-step chaos graph, one is killed with SIGKILL every 300–900 ms and
 * replaced, and the server (PostgreSQL, Redis) is restarted every 5–10 s,
 * until `kills` workers were killed; runs are queued all along so that the
 * workers are always busy. Then every run must have succeeded, with each
 * step's effect applied once at the deduplicating sink, each thread one
 * chain of checkpoints and its final state right.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const backend = options.store.backend;
  const [killMin, killMax] = options.killEveryMs ?? [300, 900];
  const [restartMin, restartMax] = options.restartEveryMs ?? [5_000, 10_000];
  const openTarget = options.openRuns ?? 24;
  const sink = await startSink();
  const checkpointer = openStore(options.store);
  const client = new Client({ checkpointer });
  const children = new Set<ChildProcess>();
  const threads: string[] = [];
  let kills = 0;
  let restarts = 0;
  let workersStarted = 0;
  let outageErrors = 0;
  const startWorker = () => {
    const child = spawnWorker(options.store, sink.url, {
      stepMs: options.stepMs ?? 20,
      concurrency: options.concurrency ?? 2,
      leaseMs: options.leaseMs ?? 1_500,
    });
    workersStarted += 1;
    children.add(child);
    child.on("exit", () => children.delete(child));
  };
  /** A call to the store that may meet the server down: counted, and tried again next time round. */
  const during = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch (error) {
      outageErrors += 1;
      if (outageErrors % 20 === 1)
        log(`${backend}: store call failed (${(error as Error).message}), going on`);
      return undefined;
    }
  };
  try {
    for (let i = 0; i < (options.workers ?? 4); i += 1) startWorker();
    const deadline = started + (options.timeoutMs ?? 3_600_000);
    let nextKill = Date.now() + uniform(killMin, killMax);
    let nextRestart = options.restart ? Date.now() + uniform(restartMin, restartMax) : Infinity;
    let lastReport = Date.now();
    for (;;) {
      if (Date.now() > deadline) throw new Error(`soak: ${backend} did not finish in time`);
      const open = await during(() =>
        client.runs.list({ status: ["pending", "running"], limit: 1000 }),
      );
      if (open !== undefined) {
        if (kills >= options.kills && open.length === 0) break;
        // Keep the workers busy until enough of them were killed.
        for (let n = open.length; kills < options.kills && n < openTarget; n += 1) {
          const threadId = `soak-${threads.length}`;
          const created = await during(() =>
            client.runs.create(threadId, { step: 0 }, { graph: "chaos", maxAttempts: 1_000_000 }),
          );
          if (created === undefined) break;
          threads.push(threadId);
        }
      }
      if (kills < options.kills && Date.now() >= nextKill) {
        const victims = [...children];
        const victim = victims[Math.floor(Math.random() * victims.length)];
        if (victim) {
          victim.kill("SIGKILL");
          children.delete(victim);
          kills += 1;
          startWorker();
        }
        nextKill = Date.now() + uniform(killMin, killMax);
      }
      if (options.restart && kills < options.kills && Date.now() >= nextRestart) {
        await options.restart();
        restarts += 1;
        nextRestart = Date.now() + uniform(restartMin, restartMax);
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        log(
          `${backend}: ${kills}/${options.kills} kills, ${restarts} restarts, ${threads.length} runs queued, ${open?.length ?? "?"} open`,
        );
      }
      await sleep(25);
    }

    const ended = await client.runs.list({ limit: 1000 });
    const byThread = new Map(ended.map((run) => [run.threadId, run]));
    // More than 1,000 runs: list pages by thread as well.
    for (const threadId of threads) {
      if (byThread.has(threadId)) continue;
      const [run] = await client.runs.list({ threadId, limit: 1 });
      if (run) byThread.set(threadId, run);
    }
    // Each lost run with what became of it, so that a failed soak says why.
    const lostRuns = threads.flatMap((t) => {
      const run = byThread.get(t);
      if (run?.status === "succeeded") return [];
      const error = run?.error ? `: ${run.error.name} ${run.error.message}`.slice(0, 200) : "";
      return [`${t} (${run?.status ?? "no run"}${error})`];
    });
    const applied = sink.applied();
    const { forked, wrong } = await checkThreads(checkpointer, threads);
    return {
      backend,
      kills,
      restarts,
      workersStarted,
      runs: threads.length,
      succeeded: threads.length - lostRuns.length,
      lostRuns,
      effectsApplied: applied.size,
      effectsRepeated: sink.requests() - applied.size,
      effectErrors: checkEffects(threads, applied),
      forkedThreads: forked,
      wrongStates: wrong,
      outageErrors,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await sink.close();
    await checkpointer.close();
  }
}

export function describeSoak(report: SoakReport): string {
  return (
    `${report.backend}: ${report.kills} workers killed with SIGKILL (${report.workersStarted} started), ` +
    `${report.restarts} server restarts; ${report.succeeded}/${report.runs} runs succeeded ` +
    `(lost: ${report.lostRuns.length}); ${report.effectsApplied} effects applied ` +
    `(${report.runs * CHAOS_STEPS} expected), ${report.effectsRepeated} repeats answered by key, ` +
    `${report.effectErrors.length} steps applied twice or never; ` +
    `${report.forkedThreads.length} threads not one chain (two heads or steps missing); ` +
    `${report.wrongStates.length} wrong final states; ` +
    `${report.seconds.toFixed(1)} s`
  );
}

/** What must be zero: lost runs, effects applied twice or never, threads with two heads, wrong states. */
export function soakFailures(report: SoakReport): number {
  return (
    report.lostRuns.length +
    report.effectErrors.length +
    report.forkedThreads.length +
    report.wrongStates.length
  );
}
