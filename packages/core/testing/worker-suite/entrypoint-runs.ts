import { setTimeout as sleep } from "node:timers/promises";
import type { Checkpointer } from "@waypoint/checkpoint";
import { describe, expect, it } from "vitest";
import { Command } from "../../src/constants.js";
import { entrypoint, type EntrypointContext } from "../../src/functional/entrypoint.js";
import { task } from "../../src/functional/task.js";
import { interrupt } from "../../src/pregel/interrupt.js";
import { Client } from "../../src/runs/client.js";
import { Worker, type WorkerOptions } from "../../src/runs/worker.js";
import { DedupSink } from "./dedup-sink.js";

const PAGES = 4;

/**
 * An entrypoint that fetches PAGES pages in parallel, each call charging the
 * sink through ctx.effect, then joins them in a sequential call. `ran` lists
 * every execution of a task's body; `beforeCharge` runs inside a page's call.
 */
function pagesWorkflow(
  checkpointer: Checkpointer,
  sink: DedupSink,
  beforeCharge?: (page: number) => Promise<void>,
) {
  const ran: string[] = [];
  const fetchPage = task("fetchPage", async (page: number, ctx: EntrypointContext) => {
    ran.push(`page ${page}`);
    await sleep(5 * (page + 1));
    await beforeCharge?.(page);
    await ctx.effect("charge", ({ idempotencyKey }) => sink.record(idempotencyKey, `page ${page}`));
    return `P${page}`;
  });
  const join = task("join", (pages: string[]) => {
    ran.push("join");
    return pages.join("+");
  });
  const workflow = entrypoint({ name: "pages", checkpointer }, async (pages: number, ctx) => {
    const fetched = await Promise.all(
      Array.from({ length: pages }, (_, page) => fetchPage(page, ctx)),
    );
    return join(fetched);
  });
  return { workflow, ran };
}

const PAGE_CHARGES = Array.from({ length: PAGES }, (_, page) => `page ${page}`);
/** Every task call of a run, once, sorted. */
const EVERY_CALL_ONCE = ["join", ...PAGE_CHARGES];
const RESULT = "P0+P1+P2+P3";

/**
 * Entrypoints (the Functional API) as runs: taken by a worker, taken over
 * after their worker died, paused by an interrupt in a task and resumed by
 * a run. `store` gives a fresh store; `onCleanup` runs after the test.
 */
export function entrypointRunTests(
  store: () => Promise<Checkpointer>,
  onCleanup: (step: () => Promise<void>) => void,
): void {
  describe("entrypoints", () => {
    function startWorker(graphs: WorkerOptions["graphs"], extra: Partial<WorkerOptions> = {}) {
      const worker = new Worker({ graphs, pollMs: 20, heartbeatMs: 40, ...extra }).start();
      onCleanup(() => worker.drain());
      return worker;
    }

    it("a worker runs an entrypoint's parallel task calls to its result, each call and effect once", async () => {
      const checkpointer = await store();
      const sink = new DedupSink();
      const { workflow, ran } = pagesWorkflow(checkpointer, sink);
      const client = new Client({ checkpointer, graphs: { pages: workflow } });
      const run = await client.runs.create("t-pages", PAGES, { graph: "pages" });
      startWorker({ pages: workflow });
      const ended = await client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(ended).toMatchObject({ status: "succeeded", attempts: 1 });
      expect((await workflow.getState("t-pages"))?.values).toBe(RESULT);
      expect([...ran].sort()).toEqual(EVERY_CALL_ONCE);
      expect([...sink.calls].sort()).toEqual(PAGE_CHARGES);
    });

    it("a run whose worker died mid-run is taken over: recorded task calls do not run again, and the dead worker's late writes are refused", async () => {
      const checkpointer = await store();
      const sink = new DedupSink();
      // The dead worker's call for page 2 hangs (a frozen process) until `wake`.
      let dying = true;
      let wake!: () => void;
      const asleep = new Promise<void>((resolve) => (wake = resolve));
      onCleanup(async () => wake());
      const { workflow, ran } = pagesWorkflow(checkpointer, sink, async (page) => {
        if (dying && page === 2) await asleep;
      });
      const client = new Client({ checkpointer, graphs: { pages: workflow } });
      const run = await client.runs.create("t-dead", PAGES, { graph: "pages" });
      const runs = checkpointer.runs!;
      const dead = (await runs.claim({ workerId: "dead", leaseMs: 300 }))!;
      expect(dead.run.id).toBe(run.id);
      // Each task call's update is streamed once its result is recorded.
      const recorded: unknown[] = [];
      const zombie = (async () => {
        for await (const update of workflow.stream(PAGES, {
          threadId: "t-dead",
          fence: dead.fence,
          metadata: { runId: run.id },
          streamMode: "updates",
        }))
          recorded.push(update);
      })();
      const zombieEnded = zombie.then(
        () => "finished",
        (error: unknown) => error,
      );
      while (recorded.length < PAGES - 1) await sleep(5);
      expect(recorded).toHaveLength(PAGES - 1);
      expect(sink.calls).toHaveLength(PAGES - 1);
      dying = false;

      startWorker({ pages: workflow }, { leaseMs: 300, heartbeatMs: 50 });
      const ended = await client.runs.wait(run.id, { timeoutMs: 10_000 });
      expect(ended).toMatchObject({ status: "succeeded", attempts: 2 });
      expect((await workflow.getState("t-dead"))?.values).toBe(RESULT);
      // Only page 2 was in flight when the worker died: it alone ran again.
      expect([...ran].sort()).toEqual([...EVERY_CALL_ONCE, "page 2"].sort());
      expect([...sink.entries()].sort()).toEqual(PAGE_CHARGES);

      // The dead worker wakes up: its call charges again under the same key
      // (the sink applies it once), and its record is refused by the fence.
      const before = (await workflow.getState("t-dead"))!.checkpointId;
      wake();
      expect(await zombieEnded).toMatchObject({ code: "LEASE_LOST" });
      expect(sink.calls.filter((call) => call === "page 2")).toHaveLength(2);
      expect([...sink.entries()].sort()).toEqual(PAGE_CHARGES);
      expect((await workflow.getState("t-dead"))?.checkpointId).toBe(before);
      expect((await client.runs.get(run.id))?.status).toBe("succeeded");
    });

    it("an interrupt() inside a task ends the run interrupted; a run with a resume command finishes it without re-running recorded calls", async () => {
      const checkpointer = await store();
      const ran: string[] = [];
      const draft = task("draft", (topic: string) => {
        ran.push("draft");
        return `essay on ${topic}`;
      });
      const ask = task("ask", (question: string) => {
        ran.push("ask");
        return interrupt<string>(question);
      });
      const workflow = entrypoint({ name: "review", checkpointer }, async (topic: string) => {
        const [essay, verdict] = await Promise.all([draft(topic), ask(`publish ${topic}?`)]);
        return `${essay}: ${verdict}`;
      });
      const client = new Client({ checkpointer, graphs: { review: workflow } });
      startWorker({ review: workflow });
      const asking = await client.runs.create("t-review", "tides", { graph: "review" });
      expect((await client.runs.wait(asking.id, { timeoutMs: 10_000 })).status).toBe("interrupted");
      const paused = await workflow.getState("t-review");
      expect(paused?.values).toBeUndefined();
      expect(paused?.interrupts.map((i) => i.value)).toEqual(["publish tides?"]);
      const answer = await client.runs.create("t-review", new Command({ resume: "yes" }), {
        graph: "review",
      });
      expect((await client.runs.wait(answer.id, { timeoutMs: 10_000 })).status).toBe("succeeded");
      expect((await workflow.getState("t-review"))?.values).toBe("essay on tides: yes");
      // The draft was recorded before the pause: only the asking call ran again.
      expect(ran.sort()).toEqual(["ask", "ask", "draft"]);
    });
  });
}
