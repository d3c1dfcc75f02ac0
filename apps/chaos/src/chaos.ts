import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { CheckpointHeader, Checkpointer } from "@waypoint/checkpoint";
import { Client } from "@waypoint/core";
import { CHAOS_STEPS, chaosGraph } from "./graph.js";
import { startSink } from "./sink.js";
import { openStore, type ChaosStore } from "./stores.js";

export interface ChaosOptions {
  readonly store: ChaosStore;
  /** Runs to queue, each on its own thread (default 200). */
  readonly runs?: number;
  /** Worker processes alive at any time (default 4). */
  readonly workers?: number;
  /** Runs each worker takes at once (default 2). */
  readonly concurrency?: number;
  /** A random worker is killed every this many ms, drawn uniformly (default 500–2000). */
  readonly killEveryMs?: readonly [number, number];
  readonly stepMs?: number;
  readonly leaseMs?: number;
  /** Give up after this long (default 10 minutes). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosReport {
  readonly backend: string;
  readonly runs: number;
  readonly succeeded: number;
  readonly kills: number;
  readonly workersStarted: number;
  /** Claims beyond the first of each run: runs taken over from a killed worker. */
  readonly takeovers: number;
  /** Steps whose effect the sink applied (one per run and step when all is well). */
  readonly effectsApplied: number;
  /** Requests the sink answered from its record: effects a killed worker had sent but not recorded. */
  readonly effectsRepeated: number;
  /** (thread, step) pairs applied under more than one key, or never: must be empty. */
  readonly effectErrors: readonly string[];
  /** Threads whose checkpoints do not form one chain: must be empty. */
  readonly forkedThreads: readonly string[];
  /** Threads whose final log is not 1..10: must be empty. */
  readonly wrongStates: readonly string[];
  readonly seconds: number;
}

const WORKER = fileURLToPath(new URL("./worker-process.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Queues `runs` runs, starts `workers` worker processes, kills a random one
 * with SIGKILL every 0.5–2 s and starts a new one, until every run has ended;
 * then checks every run succeeded, each step's effect was applied once, and
 * each thread is one unbroken chain of checkpoints.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const total = options.runs ?? 200;
  const workerCount = options.workers ?? 4;
  const [killMin, killMax] = options.killEveryMs ?? [500, 2000];
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const sink = await startSink();
  const checkpointer = openStore(options.store);
  const client = new Client({ checkpointer });
  const children = new Set<ChildProcess>();
  let kills = 0;
  let workersStarted = 0;
  try {
    const threads = Array.from({ length: total }, (_, i) => `chaos-${i}`);
    for (const threadId of threads)
      await client.runs.create(threadId, { step: 0 }, { graph: "chaos" });
    log(`${options.store.backend}: ${total} runs queued`);

    const startWorker = () => {
      const child = spawnWorker(options.store, sink.url, options);
      workersStarted += 1;
      children.add(child);
      child.on("exit", () => children.delete(child));
    };
    for (let i = 0; i < workerCount; i += 1) startWorker();

    const deadline = started + (options.timeoutMs ?? 600_000);
    let nextKill = Date.now() + uniform(killMin, killMax);
    for (;;) {
      const open = await client.runs.list({ status: ["pending", "running"], limit: 1000 });
      if (open.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(`chaos: ${open.length} runs still open at the deadline`);
      if (Date.now() >= nextKill) {
        const victims = [...children];
        const victim = victims[Math.floor(Math.random() * victims.length)];
        if (victim) {
          victim.kill("SIGKILL");
          children.delete(victim);
          kills += 1;
          startWorker();
          log(
            `${options.store.backend}: killed worker ${victim.pid} (${kills}), ${open.length} runs open`,
          );
        }
        nextKill = Date.now() + uniform(killMin, killMax);
      }
      await sleep(50);
    }

    const ended = await client.runs.list({ limit: 1000 });
    const succeeded = ended.filter((run) => run.status === "succeeded").length;
    const takeovers = ended.reduce((sum, run) => sum + run.attempts - 1, 0);
    const applied = sink.applied();
    const effectErrors = checkEffects(threads, applied);
    const { forked, wrong } = await checkThreads(checkpointer, threads);
    return {
      backend: options.store.backend,
      runs: total,
      succeeded,
      kills,
      workersStarted,
      takeovers,
      effectsApplied: applied.size,
      effectsRepeated: sink.requests() - applied.size,
      effectErrors,
      forkedThreads: forked,
      wrongStates: wrong,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await sink.close();
    await checkpointer.close();
  }
}

/** Starts one worker process on the store (`worker-process.ts`), taking runs until killed or sent SIGTERM. */
export function spawnWorker(
  store: ChaosStore,
  sinkUrl: string,
  options: Pick<ChaosOptions, "stepMs" | "concurrency" | "leaseMs"> = {},
): ChildProcess {
  const env = {
    ...process.env,
    CHAOS_STORE: JSON.stringify(store),
    CHAOS_SINK: sinkUrl,
    CHAOS_STEP_MS: String(options.stepMs ?? 30),
    CHAOS_CONCURRENCY: String(options.concurrency ?? 2),
    CHAOS_LEASE_MS: String(options.leaseMs ?? 1_500),
  };
  return spawn(process.execPath, ["--conditions=@waypoint/source", "--import", "tsx", WORKER], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export function describeReport(report: ChaosReport): string {
  return (
    `${report.backend}: ${report.succeeded}/${report.runs} runs succeeded; ` +
    `${report.kills} workers killed with SIGKILL (${report.workersStarted} started), ` +
    `${report.takeovers} runs taken over after a kill; ` +
    `${report.effectsApplied} effects applied once each (${report.runs * CHAOS_STEPS} expected), ` +
    `${report.effectsRepeated} repeated requests answered by key; ` +
    `${report.forkedThreads.length} threads with two heads, ${report.wrongStates.length} wrong states; ` +
    `${report.seconds.toFixed(1)} s`
  );
}

/** Each (thread, step) applied exactly once: one key per step, none missing, none extra. */
export function checkEffects(
  threads: readonly string[],
  applied: ReadonlyMap<string, string>,
): string[] {
  const keysPerStep = new Map<string, number>();
  for (const entry of applied.values()) keysPerStep.set(entry, (keysPerStep.get(entry) ?? 0) + 1);
  const errors: string[] = [];
  for (const threadId of threads) {
    for (let step = 1; step <= CHAOS_STEPS; step += 1) {
      const count = keysPerStep.get(`${threadId}:${step}`) ?? 0;
      if (count !== 1) errors.push(`${threadId}:${step} applied ${count} times`);
    }
  }
  if (applied.size !== threads.length * CHAOS_STEPS) {
    errors.push(`${applied.size} effects applied, expected ${threads.length * CHAOS_STEPS}`);
  }
  return errors;
}

/**
 * One head per thread: newest first, each checkpoint's parent is the next
 * one, and the oldest has none (a fork would leave two checkpoints on one
 * parent). The final state logs steps 1..10 once each.
 */
export async function checkThreads(
  checkpointer: Checkpointer,
  threads: readonly string[],
): Promise<{ forked: string[]; wrong: string[] }> {
  const graph = chaosGraph(checkpointer, "http://127.0.0.1:9/unused", 0);
  const forked: string[] = [];
  const wrong: string[] = [];
  const expected = Array.from({ length: CHAOS_STEPS }, (_, i) => i + 1);
  for (const threadId of threads) {
    const headers: CheckpointHeader[] = [];
    for await (const header of checkpointer.list(threadId)) headers.push(header);
    const chained = headers.every((header, i) => header.parentId === (headers[i + 1]?.id ?? null));
    if (!chained || headers.length !== CHAOS_STEPS + 1) forked.push(threadId);
    const log = (await graph.getState(threadId))?.values.log;
    if (JSON.stringify(log) !== JSON.stringify(expected))
      wrong.push(`${threadId}: ${JSON.stringify(log)}`);
  }
  return { forked, wrong };
}

export function uniform(min: number, max: number): number {
  return min + Math.random() * (max - min);
}
