import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { CheckpointHeader, Checkpointer, RunRecord } from "@waypoint/checkpoint";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { Client } from "@waypoint/core";
import { expect, inject, it } from "vitest";
import { DEPLOY_GRAPH, MIGRATED, deployGraph } from "../src/deploy-graph.js";
import { dropStore, type ChaosStore } from "../src/stores.js";

const WORKER = fileURLToPath(new URL("../src/deploy-worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const STEP_MS = 40;

interface RunLeft {
  readonly type: "run-left";
  readonly pid: number;
  readonly runId: string;
  readonly threadId: string;
  readonly threadVersion: unknown;
  readonly workerVersion: unknown;
}

/** A deploy-worker.ts process and what it printed. */
interface DeployWorker {
  readonly version: 1 | 2;
  readonly child: ChildProcess;
  readonly left: RunLeft[];
  /** Resolves when the process has loaded its code and waits for `start()`. */
  readonly loaded: Promise<void>;
  /** Lets the process take runs; resolves once its Worker started. */
  start(): Promise<void>;
}

/** Starts a deploy-worker.ts process held before its first claim (--hold). */
function spawnDeployWorker(version: 1 | 2, store: ChaosStore): DeployWorker {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@waypoint/source",
      "--import",
      "tsx",
      WORKER,
      String(version),
      store.url!,
      store.location,
      String(STEP_MS),
      "--hold",
    ],
    { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
  );
  const left: RunLeft[] = [];
  const printed = new Map<string, () => void>();
  const exited = once(child, "exit");
  const line = (type: string) =>
    Promise.race([
      new Promise<void>((resolve) => printed.set(type, resolve)),
      exited.then(() => {
        throw new Error(`deploy worker v${version} exited before printing "${type}"`);
      }),
    ]);
  const loaded = line("loaded");
  const started = line("started");
  // Not every test waits for both lines.
  loaded.catch(() => undefined);
  started.catch(() => undefined);
  createInterface({ input: child.stdout }).on("line", (text) => {
    const event = JSON.parse(text) as { type: string };
    if (event.type === "run-left") left.push(event as RunLeft);
    else printed.get(event.type)?.();
  });
  return {
    version,
    child,
    left,
    loaded,
    start: () => {
      child.stdin.write("start\n");
      return started;
    },
  };
}

/** SIGTERM: the worker drains (its running supersteps finish, its runs go back) and exits 0. */
async function stop(worker: DeployWorker): Promise<number | null> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null)
    return worker.child.exitCode;
  const exited = once(worker.child, "exit") as Promise<[number | null]>;
  worker.child.kill("SIGTERM");
  const timer = setTimeout(() => worker.child.kill("SIGKILL"), 10_000);
  const [code] = await exited;
  clearTimeout(timer);
  return code;
}

function freshStore(): ChaosStore {
  return {
    backend: "postgres",
    location: `deploy_${Math.random().toString(36).slice(2, 8)}`,
    url: inject("pgUrl"),
  };
}

function openCheckpointer(store: ChaosStore): Checkpointer {
  return new PostgresCheckpointer({ connectionString: store.url!, schema: store.location });
}

/** A thread's checkpoints, oldest first. */
async function chain(checkpointer: Checkpointer, threadId: string): Promise<CheckpointHeader[]> {
  const headers: CheckpointHeader[] = [];
  for await (const header of checkpointer.list(threadId)) headers.push(header);
  return headers.reverse();
}

const versionOf = (header: CheckpointHeader) =>
  (header.metadata.graph as { version?: unknown } | undefined)?.version;

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * What a thread's log must be: for each of its `runs` in order, "in:<n>",
 * then a and b (and c when b ran on v2), each tagged with the version that
 * ran it: `start` up to the one MIGRATED mark, 2 after it. Returns what is
 * wrong, or undefined.
 */
function logProblem(log: readonly string[], runs: number, start: 1 | 2): string | undefined {
  let at = 0;
  let version = start;
  /** The next token is `token` (of the version the thread is on by then, for a step). */
  const expectNext = (token: string, step: boolean): string | undefined => {
    if (log[at] === MIGRATED) {
      if (version === 2) return `a second ${MIGRATED} at ${at}`;
      version = 2;
      at += 1;
    }
    const expected = step ? `${token}@v${version}` : token;
    const found = log[at++];
    return found === expected ? undefined : `expected ${expected} at ${at - 1}, found ${found}`;
  };
  for (let run = 0; run < runs; run += 1) {
    const problem =
      expectNext(`in:${run}`, false) ??
      expectNext("a", true) ??
      expectNext("b", true) ??
      // c follows b on v2 only: a run whose b ran on v1 had ended.
      (version === 2 ? expectNext("c", true) : undefined);
    if (problem !== undefined) return problem;
  }
  // A v1 run finished but not yet recorded when its worker stopped: v2 migrates it and has nothing to run.
  if (log[at] === MIGRATED && version === 1) at += 1;
  return at === log.length ? undefined : `unexpected ${log.slice(at).join(",")} at the end`;
}

it("v1 and v2 worker processes share one PostgreSQL queue through a deploy: no v1 write after a v2 one, every run succeeds", async () => {
  const started = Date.now();
  const store = freshStore();
  const checkpointer = openCheckpointer(store);
  const client = new Client({ checkpointer });
  const v1 = deployGraph(checkpointer, 1, 0);
  const v2 = deployGraph(checkpointer, 2, 0);
  const workers: DeployWorker[] = [];
  const runsOf = new Map<string, number>();
  const runs: RunRecord[] = [];
  const queue = async (threadId: string) => {
    const n = runsOf.get(threadId) ?? 0;
    runsOf.set(threadId, n + 1);
    runs.push(await client.runs.create(threadId, { log: `in:${n}` }, { graph: DEPLOY_GRAPH }));
  };
  const succeeded = async () =>
    (await client.runs.list({ status: "succeeded", limit: 1000 })).length;
  try {
    // 20 threads with two runs each: every second run is queued behind the 20 first ones.
    const early = Array.from({ length: 20 }, (_, i) => `early-${i}`);
    for (const threadId of early) await queue(threadId);
    for (const threadId of early) await queue(threadId);
    // Both versions' processes load first: the deploy below is the moment v2 joins the queue.
    const old = [spawnDeployWorker(1, store), spawnDeployWorker(1, store)];
    const fresh = [spawnDeployWorker(2, store), spawnDeployWorker(2, store)];
    workers.push(...old, ...fresh);
    await Promise.all(workers.map((worker) => worker.loaded));
    await Promise.all(old.map((worker) => worker.start()));
    await waitFor("8 runs done on v1", async () => (await succeeded()) >= 8, 20_000);

    // The deploy: v2 workers join the queue, and runs of both kinds keep coming.
    await Promise.all(fresh.map((worker) => worker.start()));
    const late = Array.from({ length: 10 }, (_, i) => `late-${i}`);
    for (const threadId of late) await queue(threadId);
    for (const threadId of early.slice(0, 10)) await queue(threadId);
    const doneAtDeploy = await succeeded();
    await waitFor(
      "12 more runs done by both versions",
      async () => (await succeeded()) >= doneAtDeploy + 12,
      20_000,
    );
    // The old workers go as a deploy stops them: each finishes its superstep and hands its runs back.
    // Stopping them while they run runs makes threads cross in the middle of a run (best effort).
    const onV1 = old.map((worker) => `:${worker.child.pid}:`);
    const runningOnV1 = async () =>
      (await client.runs.list({ status: "running", limit: 1000 })).filter((run) =>
        onV1.some((pid) => run.workerId?.includes(pid)),
      ).length;
    await waitFor("v1 workers running runs", async () => (await runningOnV1()) >= 2, 3_000).catch(
      () => undefined,
    );
    const openAtStop = (await client.runs.list({ status: ["pending", "running"], limit: 1000 }))
      .length;
    expect(await Promise.all(old.map(stop))).toEqual([0, 0]);
    await waitFor(
      "every run to end",
      async () =>
        (await client.runs.list({ status: ["pending", "running"], limit: 1000 })).length === 0,
      30_000,
    );

    const ended = await Promise.all(runs.map((run) => client.runs.get(run.id)));
    expect(ended.map((run) => run?.status)).toEqual(runs.map(() => "succeeded"));

    const goesBack: string[] = [];
    const badMigrations: string[] = [];
    const wrongStates: string[] = [];
    let crossed = 0;
    let crossedMidRun = 0;
    for (const [threadId, count] of runsOf) {
      const headers = await chain(checkpointer, threadId);
      const versions = headers.map(versionOf);
      const firstV2 = versions.indexOf(2);
      const backToV1 = firstV2 >= 0 && versions.slice(firstV2).includes(1);
      if (backToV1 || versions.some((v) => v !== 1 && v !== 2))
        goesBack.push(`${threadId}: ${versions.join(",")}`);
      const migrations = headers.filter((header) => header.metadata.source === "migration");
      const didCross = versions.includes(1) && versions.includes(2);
      // The one migration checkpoint is where the thread turns from v1 to v2.
      if (
        migrations.length !== (didCross ? 1 : 0) ||
        (didCross && headers[firstV2] !== migrations[0])
      ) {
        badMigrations.push(`${threadId}: ${migrations.length} migrations in ${versions.join(",")}`);
      }
      const headVersion = versions.at(-1) === 2 ? 2 : 1;
      const state = headVersion === 2 ? await v2.getState(threadId) : await v1.getState(threadId);
      const log = state?.values.log ?? [];
      const problem = logProblem(log, count, didCross || headVersion === 1 ? 1 : 2);
      const origin = (state?.values as { origin?: string } | undefined)?.origin;
      const expectedOrigin = didCross ? "v1" : headVersion === 2 ? "v2" : undefined;
      if (problem !== undefined || origin !== expectedOrigin) {
        wrongStates.push(`${threadId}: ${problem ?? `origin ${origin}`} in ${log.join(",")}`);
      }
      if (didCross) crossed += 1;
      const mark = log.indexOf(MIGRATED);
      if (mark > 0 && log[mark - 1]!.startsWith("a@")) crossedMidRun += 1;
    }
    expect(goesBack).toEqual([]);
    expect(badMigrations).toEqual([]);
    expect(wrongStates).toEqual([]);
    // Only the old workers leave runs, and only threads the new version wrote.
    const left = workers.flatMap((worker) => worker.left);
    for (const worker of fresh) expect(worker.left).toEqual([]);
    for (const event of left) expect(event).toMatchObject({ threadVersion: 2, workerVersion: 1 });
    expect(left.length).toBeGreaterThanOrEqual(0);
    const onV2 = ended.filter((run) => run?.graphVersion === 2).length;
    console.log(
      `rolling deploy: ${runs.length} runs on ${runsOf.size} threads succeeded (${runs.length - onV2} ended on v1, ${onV2} on v2); ` +
        `${crossed} threads crossed from v1 to v2 (${crossedMidRun} in the middle of a run), ` +
        `${openAtStop} runs open when the v1 workers were stopped; ${left.length} run-left events; ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(crossed).toBeGreaterThan(0);
  } finally {
    await Promise.all(workers.map(stop));
    await dropStore(store, checkpointer);
  }
}, 60_000);

it("a v1 worker process leaves the run of a thread v2 wrote, writing nothing; a v2 worker then runs it", async () => {
  const store = freshStore();
  const checkpointer = openCheckpointer(store);
  const client = new Client({ checkpointer });
  const v2 = deployGraph(checkpointer, 2, 0);
  const workers: DeployWorker[] = [];
  try {
    await v2.invoke({ log: "in:0" }, { threadId: "written-by-v2" });
    const before = (await chain(checkpointer, "written-by-v2")).map((header) => header.id);
    const run = await client.runs.create("written-by-v2", { log: "in:1" }, { graph: DEPLOY_GRAPH });
    const old = spawnDeployWorker(1, store);
    workers.push(old);
    await old.start();
    await waitFor("the v1 worker to leave the run", () => old.left.length >= 2, 20_000);
    expect(old.left[0]).toMatchObject({
      type: "run-left",
      runId: run.id,
      threadId: "written-by-v2",
      threadVersion: 2,
      workerVersion: 1,
    });
    expect(await stop(old)).toBe(0);
    expect(await client.runs.get(run.id)).toMatchObject({
      status: "pending",
      workerId: null,
      // Leaving costs the run none of its attempts.
      attempts: 0,
    });
    expect((await chain(checkpointer, "written-by-v2")).map((header) => header.id)).toEqual(before);

    const fresh = spawnDeployWorker(2, store);
    workers.push(fresh);
    await fresh.start();
    const ended = await client.runs.wait(run.id, { timeoutMs: 20_000 });
    expect(ended).toMatchObject({ status: "succeeded", graphVersion: 2 });
    expect(fresh.left).toEqual([]);
    expect((await v2.getState("written-by-v2"))?.values.log).toEqual([
      "in:0",
      "a@v2",
      "b@v2",
      "c@v2",
      "in:1",
      "a@v2",
      "b@v2",
      "c@v2",
    ]);
  } finally {
    await Promise.all(workers.map(stop));
    await dropStore(store, checkpointer);
  }
}, 60_000);
