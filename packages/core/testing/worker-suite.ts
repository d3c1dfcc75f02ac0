import { setTimeout as sleep } from "node:timers/promises";
import type { Checkpointer, RunRecord } from "@waypoint/checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { lastValue, reducer } from "../src/channels/index.js";
import type { CompiledGraph } from "../src/compiled-graph.js";
import { Command, END, START } from "../src/constants.js";
import { TerminalError } from "../src/errors.js";
import type { NodeContext } from "../src/graph/graph-spec.js";
import { StateGraph } from "../src/graph/state-graph.js";
import { interrupt } from "../src/pregel/interrupt.js";
import { Client } from "../src/runs/client.js";
import { Worker, type WorkerOptions } from "../src/runs/worker.js";
import { defineState } from "../src/state.js";
import { DedupSink } from "./worker-suite/dedup-sink.js";
import { entrypointRunTests } from "./worker-suite/entrypoint-runs.js";
import { wakeRunTests, type WakeSuiteOptions } from "./worker-suite/wake-runs.js";

export { DedupSink };

export interface WorkerSuiteOptions extends WakeSuiteOptions {
  readonly name: string;
  /** A fresh, empty store for one test. */
  create(): Checkpointer | Promise<Checkpointer>;
  /** Called after each test; defaults to `close()`. */
  destroy?(checkpointer: Checkpointer): void | Promise<void>;
}

const State = defineState({
  tag: lastValue<string>({ default: () => "" }),
  step: lastValue<number>({ default: () => 0 }),
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
});

type Hook = (context: { step: number; tag: string; ctx: NodeContext }) => Promise<void> | void;

/**
 * A graph of `steps` supersteps that logs `<tag>:<n>` at step n through an
 * effect, sleeping `stepMs` first. `hooks[n]` runs inside step n. For
 * core's own tests.
 *
 * @internal
 */
export function stepGraph(
  checkpointer: Checkpointer,
  sink: DedupSink,
  options: { steps?: number; stepMs?: number; hooks?: Record<number, Hook> } = {},
) {
  const steps = options.steps ?? 4;
  return new StateGraph(State)
    .addNode("work", async (s, ctx) => {
      const step = s.step + 1;
      await sleep(options.stepMs ?? 5, undefined, { signal: ctx.signal });
      await options.hooks?.[step]?.({ step, tag: s.tag, ctx });
      const entry = `${s.tag}:${step}`;
      await ctx.effect("sink", ({ idempotencyKey }) => sink.record(idempotencyKey, entry));
      return { step, log: entry };
    })
    .addEdge(START, "work")
    .addConditionalEdges("work", (s) => (s.step >= steps ? END : "work"))
    .compile({ checkpointer });
}

/**
 * Runs, workers and control on one backend: the same behaviour on every
 * store. Each control request must take effect within one superstep.
 */
export function runWorkerSuite(options: WorkerSuiteOptions): void {
  describe(`${options.name}: runs and workers`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    async function store(): Promise<Checkpointer> {
      const checkpointer = await options.create();
      cleanup.push(async () => {
        await (options.destroy ? options.destroy(checkpointer) : checkpointer.close());
      });
      return checkpointer;
    }

    async function setup(graphOptions: Parameters<typeof stepGraph>[2] = {}) {
      const checkpointer = await store();
      const sink = new DedupSink();
      const graph = stepGraph(checkpointer, sink, graphOptions);
      const client = new Client({ checkpointer, graphs: { steps: graph } });
      const workers: Worker[] = [];
      const startWorker = (extra: Partial<WorkerOptions> = {}) => {
        const worker = new Worker({
          graphs: { steps: graph },
          concurrency: 2,
          leaseMs: 2_000,
          heartbeatMs: 40,
          pollMs: 20,
          ...extra,
        }).start();
        workers.push(worker);
        return worker;
      };
      cleanup.push(async () => {
        await Promise.all(workers.map((worker) => worker.drain()));
      });
      return { checkpointer, sink, graph, client, startWorker };
    }

    it("runs a queued run to the end, once, with its checkpoints marked by run id", async () => {
      const { client, graph, sink, startWorker, checkpointer } = await setup();
      const run = await client.runs.create("t1", { tag: "a", step: 0 }, { graph: "steps" });
      startWorker();
      const ended = await client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(ended).toMatchObject({ status: "succeeded", attempts: 1 });
      expect((await graph.getState("t1"))?.values.log).toEqual(["a:1", "a:2", "a:3", "a:4"]);
      expect(sink.calls).toEqual(["a:1", "a:2", "a:3", "a:4"]);
      const marked = [];
      for await (const header of checkpointer.list("t1", { filter: { runId: run.id } }))
        marked.push(header);
      expect(marked).toHaveLength(5); // the input and four supersteps
    });

    it("pauses at the superstep boundary after the request and resumes where it stopped", async () => {
      const env = await setup({
        hooks: { 2: async () => void (await env.client.runs.pause(runId)) },
      });
      const client = env.client;
      const run = await client.runs.create("t-pause", { tag: "p", step: 0 }, { graph: "steps" });
      const runId = run.id;
      env.startWorker();
      expect((await client.runs.wait(run.id, { timeoutMs: 10_000 })).status).toBe("paused");
      // Asked for during step 2: step 2 commits, step 3 never starts.
      expect((await env.graph.getState("t-pause"))?.values.log).toEqual(["p:1", "p:2"]);
      await sleep(150);
      expect(env.sink.calls).toEqual(["p:1", "p:2"]);
      await client.runs.resume(run.id);
      const ended = await client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(ended.status).toBe("succeeded");
      expect((await env.graph.getState("t-pause"))?.values.log).toEqual([
        "p:1",
        "p:2",
        "p:3",
        "p:4",
      ]);
      expect(env.sink.calls).toEqual(["p:1", "p:2", "p:3", "p:4"]);
    });

    it("cancels within the superstep: the running node's signal aborts, the state is kept", async () => {
      let aborted = false;
      const env = await setup({
        hooks: {
          3: async ({ ctx }) => {
            await env.client.runs.cancel(runId);
            await sleep(10_000, undefined, { signal: ctx.signal }).catch((error: unknown) => {
              aborted = true;
              throw error;
            });
          },
        },
      });
      const client = env.client;
      const run = await client.runs.create("t-cancel", { tag: "c", step: 0 }, { graph: "steps" });
      const runId = run.id;
      const started = Date.now();
      env.startWorker();
      const ended = await client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(ended.status).toBe("cancelled");
      expect(aborted).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await env.graph.getState("t-cancel"))?.values.log).toEqual(["c:1", "c:2"]);
      expect(env.sink.calls).toEqual(["c:1", "c:2"]);
    });

    it("a run whose worker died is taken over after its lease and resumed from its last checkpoint", async () => {
      const env = await setup();
      const run = await env.client.runs.create("t-dead", { tag: "d", step: 0 }, { graph: "steps" });
      // A worker that claims the run, gets two supersteps done, and dies without a word.
      const store = env.checkpointer.runs!;
      const dead = (await store.claim({ workerId: "dead", leaseMs: 300 }))!;
      const stop = new AbortController();
      let stored = 0;
      for await (const _ of env.graph.stream(
        { tag: "d", step: 0 },
        {
          threadId: "t-dead",
          fence: dead.fence,
          stop: stop.signal,
          metadata: { runId: run.id },
          streamMode: "values",
        },
      )) {
        stored += 1; // the input, then one per superstep
        if (stored === 3) stop.abort();
      }
      // Stopped within a superstep of the request: two or three steps are stored.
      const before = (await env.graph.getState("t-dead"))!.values.log;
      expect(["d:1", "d:2", "d:3"].slice(0, before.length)).toEqual(before);
      expect(before.length).toBeGreaterThanOrEqual(2);
      env.startWorker({ leaseMs: 300, heartbeatMs: 50 });
      const ended = await env.client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(ended).toMatchObject({ status: "succeeded", attempts: 2 });
      expect((await env.graph.getState("t-dead"))?.values.log).toEqual([
        "d:1",
        "d:2",
        "d:3",
        "d:4",
      ]);
      expect(env.sink.entries()).toEqual(["d:1", "d:2", "d:3", "d:4"]);
      expect(env.sink.calls).toEqual(["d:1", "d:2", "d:3", "d:4"]);
      // The dead worker's lease is gone for good.
      await expect(store.heartbeat(dead.fence, 1_000)).rejects.toMatchObject({
        code: "LEASE_LOST",
      });
    });

    it("drain stops after the current superstep and another worker continues the run", async () => {
      const env = await setup({ steps: 6, stepMs: 60 });
      const run = await env.client.runs.create(
        "t-drain",
        { tag: "r", step: 0 },
        { graph: "steps" },
      );
      const first = env.startWorker();
      while ((await env.graph.getState("t-drain"))?.values.step !== 2) await sleep(10);
      await first.drain();
      const released = await env.client.runs.get(run.id);
      expect(released).toMatchObject({ status: "pending", workerId: null });
      const done = (await env.graph.getState("t-drain"))!.values.log.length;
      expect(done).toBeGreaterThanOrEqual(2);
      expect(done).toBeLessThanOrEqual(3);
      env.startWorker();
      const ended = await env.client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(ended).toMatchObject({ status: "succeeded", attempts: 1 });
      expect(env.sink.calls).toEqual(["r:1", "r:2", "r:3", "r:4", "r:5", "r:6"]);
    });

    it("per-thread strategies: reject, enqueue, interrupt, rollback", async () => {
      const env = await setup({ steps: 4, stepMs: 40 });
      env.startWorker();
      const create = (tag: string, strategy: "reject" | "enqueue" | "interrupt" | "rollback") =>
        env.client.runs.create(`t-${strategy}`, { tag, step: 0 }, { graph: "steps", strategy });
      const waitStep = async (threadId: string, step: number) => {
        while (((await env.graph.getState(threadId))?.values.step ?? 0) < step) await sleep(5);
      };

      // reject
      const busy = await create("a", "reject");
      await expect(create("b", "reject")).rejects.toMatchObject({ code: "THREAD_BUSY" });
      await env.client.runs.wait(busy.id, { timeoutMs: 10_000 });

      // enqueue: the second run starts after the first ends
      const first = await create("a", "enqueue");
      const second = await create("b", "enqueue");
      await env.client.runs.wait(second.id, { timeoutMs: 10_000 });
      expect((await env.client.runs.get(first.id))?.status).toBe("succeeded");
      expect((await env.graph.getState("t-enqueue"))?.values.log).toEqual([
        ...["a:1", "a:2", "a:3", "a:4"],
        ...["b:1", "b:2", "b:3", "b:4"],
      ]);

      // interrupt: the first run stops at a boundary keeping its steps; the second continues
      const old = await create("a", "interrupt");
      await waitStep("t-interrupt", 1);
      const newer = await create("b", "interrupt");
      await env.client.runs.wait(newer.id, { timeoutMs: 10_000 });
      expect((await env.client.runs.get(old.id))?.status).toBe("interrupted");
      const interrupted = (await env.graph.getState("t-interrupt"))!.values.log;
      expect(interrupted.filter((e) => e.startsWith("a:")).length).toBeLessThan(4);
      expect(interrupted.filter((e) => e.startsWith("a:")).length).toBeGreaterThanOrEqual(1);
      expect(interrupted.slice(-4)).toEqual(["b:1", "b:2", "b:3", "b:4"]);

      // rollback: the first run's steps are undone
      const undone = await create("a", "rollback");
      await waitStep("t-rollback", 1);
      const replacing = await create("b", "rollback");
      await env.client.runs.wait(replacing.id, { timeoutMs: 10_000 });
      expect((await env.client.runs.get(undone.id))?.status).toBe("cancelled");
      expect((await env.graph.getState("t-rollback"))?.values.log).toEqual([
        "b:1",
        "b:2",
        "b:3",
        "b:4",
      ]);
    });

    it("a node's interrupt() ends the run interrupted; a run with a resume command finishes it", async () => {
      const checkpointer = await store();
      const graph = new StateGraph(State)
        .addNode("ask", () => ({ log: `approved:${String(interrupt("approve?"))}` }))
        .addEdge(START, "ask")
        .addEdge("ask", END)
        .compile({ checkpointer });
      const client = new Client({ checkpointer, graphs: { ask: graph } });
      const worker = new Worker({ graphs: { ask: graph }, pollMs: 20 }).start();
      cleanup.push(() => worker.drain());
      const asking = await client.runs.create("t-ask", { tag: "q" }, { graph: "ask" });
      expect((await client.runs.wait(asking.id, { timeoutMs: 10_000 })).status).toBe("interrupted");
      const answer = await client.runs.create("t-ask", new Command({ resume: "yes" }), {
        graph: "ask",
      });
      expect((await client.runs.get(answer.id))?.input).toBeInstanceOf(Command);
      expect((await client.runs.wait(answer.id, { timeoutMs: 10_000 })).status).toBe("succeeded");
      expect((await graph.getState("t-ask"))?.values.log).toEqual(["approved:yes"]);
    });

    it("a failing node fails the run with its error; an unknown graph fails it too", async () => {
      const env = await setup({
        hooks: {
          2: () => {
            throw new TerminalError("card declined");
          },
        },
      });
      env.startWorker();
      const failing = await env.client.runs.create(
        "t-fail",
        { tag: "f", step: 0 },
        { graph: "steps" },
      );
      const ended = await env.client.runs.wait(failing.id, { timeoutMs: 10_000 });
      expect(ended.status).toBe("failed");
      expect(ended.error?.message).toContain("card declined");
      const unknown = await env.client.runs.create("t-unknown", {}, { graph: "nope" });
      const lost = await env.client.runs.wait(unknown.id, { timeoutMs: 10_000 });
      expect(lost).toMatchObject({ status: "failed", error: { code: "GRAPH_NOT_FOUND" } });
    });

    it("newThread: a new thread starts without a read; an existing one fails THREAD_EXISTS and writes nothing", async () => {
      const { graph, sink, checkpointer } = await setup({ steps: 2 });
      const fresh = await graph.invoke(
        { tag: "n", step: 0 },
        { threadId: "t-new", newThread: true },
      );
      expect(fresh.log).toEqual(["n:1", "n:2"]);
      const before = (await graph.getState("t-new"))!.checkpointId;
      await expect(
        graph.invoke({ tag: "again", step: 0 }, { threadId: "t-new", newThread: true }),
      ).rejects.toMatchObject({ code: "THREAD_EXISTS" });
      const other = stepGraph(checkpointer, sink, { steps: 2 }); // a process that never saw the thread
      await expect(
        other.invoke({ tag: "cold", step: 0 }, { threadId: "t-new", newThread: true }),
      ).rejects.toMatchObject({ code: "THREAD_EXISTS" });
      expect((await graph.getState("t-new"))!.checkpointId).toBe(before);
      expect(sink.calls).toEqual(["n:1", "n:2"]);
    });

    it("streams a run's states from another client as its checkpoints are stored", async () => {
      const env = await setup({ stepMs: 20 });
      const run = await env.client.runs.create(
        "t-stream",
        { tag: "s", step: 0 },
        { graph: "steps" },
      );
      env.startWorker();
      const seen: unknown[] = [];
      let last: RunRecord | undefined;
      for await (const [mode, payload] of env.client.runs.stream(run.id, {
        streamMode: ["values", "run"],
        pollMs: 10,
      })) {
        if (mode === "values") seen.push((payload as { log: string[] }).log.length);
        if (mode === "run") last = payload;
      }
      expect(last?.status).toBe("succeeded");
      expect(seen).toEqual([0, 1, 2, 3, 4]);
    });

    entrypointRunTests(store, (step) => cleanup.push(step));
    wakeRunTests(options, store, (step) => cleanup.push(step));
  });
}

export type StepGraph = CompiledGraph<typeof State>;
