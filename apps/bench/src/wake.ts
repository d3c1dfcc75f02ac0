import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryCheckpointer, type Checkpointer, type RunStore } from "@waypoint/checkpoint";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { Client, END, START, StateGraph, Worker, defineState, lastValue } from "@waypoint/core";
import { startPostgres, startRedis } from "@waypoint/test-services";
import { table } from "./measure.js";

/**
 * How soon an idle worker starts a run (issue 22): the time from calling
 * `runs.create` to the run's first node running, on a worker that was
 * waiting for work. Each backend is measured twice in the same run: with
 * the store's wake-ups (RunStore.watch) and with the same worker polling
 * every 200 ms, as workers did before. Runs are created one at a time, a
 * random 50-250 ms after the previous one ended, so that a create lands
 * anywhere in the polling worker's sleep.
 *
 * Not a suite of main.ts yet; from apps/bench:
 *   npx tsx --conditions=@waypoint/source --eval \
 *     'import("./src/wake.ts").then(async (m) => console.log(await m.wakeBenchmark()))'
 * (PostgreSQL and Redis are started here, as the other suites do.)
 *
 * PostgreSQL and Redis: the client and the worker have a checkpointer each
 * (their own connections), as two processes would. SQLite and memory: one
 * checkpointer, since their wake-ups reach the same process only.
 */
export interface WakeBenchmarkOptions {
  /** Runs per backend and mode (default 40). */
  readonly runs?: number;
  /** Backends to measure (default all four). */
  readonly backends?: readonly Backend[];
}

export type Backend = "memory" | "sqlite" | "postgres" | "redis";

const POLL_MS = 200;
const State = defineState({ done: lastValue<boolean>({ default: () => false }) });

/** A pair of stores on one backend: the client's and the worker's (the same one for in-process backends). */
interface Stores {
  readonly client: Checkpointer;
  readonly worker: Checkpointer;
  close(): Promise<void>;
}

export async function wakeBenchmark(options: WakeBenchmarkOptions = {}): Promise<string> {
  const runs = options.runs ?? 40;
  const backends = options.backends ?? ["memory", "sqlite", "postgres", "redis"];
  const rows: string[][] = [
    ["backend", "worker", "create p50", "claimed p50", "started p50", "started p95"],
  ];
  const directory = mkdtempSync(join(tmpdir(), "waypoint-wake-"));
  const postgres = backends.includes("postgres") ? await startPostgres({ durable: true }) : null;
  const redis = backends.includes("redis") ? await startRedis() : null;
  let made = 0;
  const open = async (backend: Backend): Promise<Stores> => {
    made += 1;
    switch (backend) {
      case "memory":
        return same(new MemoryCheckpointer());
      case "sqlite":
        return same(new SqliteCheckpointer(join(directory, `wake-${made}.db`)));
      case "postgres": {
        const make = async () => {
          const store = new PostgresCheckpointer({
            connectionString: postgres!.url,
            schema: `wake_${made}`,
          });
          await store.setup();
          return store;
        };
        return pair(await make(), await make());
      }
      case "redis": {
        const make = () => new RedisCheckpointer({ url: redis!.url, prefix: `wake-${made}` });
        return pair(make(), make());
      }
    }
  };
  try {
    for (const backend of backends) {
      for (const wake of [true, false]) {
        const { created, claimed, started } = await latencies(await open(backend), runs, wake);
        rows.push([
          backend,
          wake ? "woken" : `polls ${POLL_MS} ms`,
          ms(created, 0.5),
          ms(claimed, 0.5),
          ms(started, 0.5),
          ms(started, 0.95),
        ]);
      }
    }
  } finally {
    await postgres?.stop();
    await redis?.stop();
    rmSync(directory, { recursive: true, force: true });
  }
  return [
    `Idle worker, ${runs} runs per row; ms from calling runs.create to: its return (create), the worker's claim returning it (claimed), its first node running (started). Woken: pollMs ${POLL_MS} as the fallback`,
    table(rows),
  ].join("\n");
}

/** Milliseconds from calling create to each point, for `runs` runs created one at a time on an idle worker. */
async function latencies(
  stores: Stores,
  runs: number,
  wake: boolean,
): Promise<{ created: number[]; claimed: number[]; started: number[] }> {
  let started: (() => void) | undefined;
  let claimed: (() => void) | undefined;
  const compile = (checkpointer: Checkpointer) =>
    new StateGraph(State)
      .addNode("work", () => {
        started?.();
        return { done: true };
      })
      .addEdge(START, "work")
      .addEdge("work", END)
      .compile({ checkpointer });
  const workerStore = observed(stores.worker, wake, () => claimed?.());
  const client = new Client({ checkpointer: stores.client });
  const worker = new Worker({ graphs: { work: compile(workerStore) }, pollMs: POLL_MS }).start();
  const figures = { created: [] as number[], claimed: [] as number[], started: [] as number[] };
  const when = () => {
    let resolve!: (at: number) => void;
    const promise = new Promise<number>((done) => (resolve = done));
    return { promise, mark: () => resolve(performance.now()) };
  };
  try {
    await sleep(500);
    // Two runs first, untimed: connections opened, code warmed.
    for (let i = -2; i < runs; i += 1) {
      const start = when();
      const claim = when();
      started = start.mark;
      claimed = claim.mark;
      const at = performance.now();
      const run = await client.runs.create(`t${i}`, {}, { graph: "work" });
      const createdAt = performance.now();
      const [claimedAt, startedAt] = await Promise.all([claim.promise, start.promise]);
      await client.runs.wait(run.id, { timeoutMs: 10_000 });
      if (i >= 0) {
        figures.created.push(createdAt - at);
        figures.claimed.push(claimedAt - at);
        figures.started.push(startedAt - at);
      }
      await sleep(50 + Math.random() * 200);
    }
  } finally {
    await worker.drain();
    await stores.close();
  }
  return figures;
}

/**
 * The same store, telling `onClaim` when a claim returns a run, and with its
 * wake-ups hidden unless `wake`: its worker then polls, as before issue 22.
 */
function observed(checkpointer: Checkpointer, wake: boolean, onClaim: () => void): Checkpointer {
  const runs = checkpointer.runs!;
  const claim: RunStore["claim"] = async (options) => {
    const claimed = await runs.claim(options);
    if (claimed !== undefined) onClaim();
    return claimed;
  };
  const polled: RunStore = new Proxy(runs, {
    get: (target, key) => {
      if (key === "watch" && !wake) return undefined;
      if (key === "claim") return claim;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
  return new Proxy(checkpointer, {
    get: (target, key) => {
      if (key === "runs") return polled;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
}

function same(store: Checkpointer): Stores {
  return { client: store, worker: store, close: () => store.close() };
}

function pair(client: Checkpointer, worker: Checkpointer): Stores {
  return {
    client,
    worker,
    close: async () => {
      await Promise.all([client.close(), worker.close()]);
    },
  };
}

function ms(values: readonly number[], quantile: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!;
  return `${value.toFixed(1)} ms`;
}
