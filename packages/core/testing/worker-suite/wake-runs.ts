import { setTimeout as sleep } from "node:timers/promises";
import type { Checkpointer, RunRecord } from "@waypoint/checkpoint";
import { describe, expect, it } from "vitest";
import { END, START } from "../../src/constants.js";
import { StateGraph } from "../../src/graph/state-graph.js";
import { Client } from "../../src/runs/client.js";
import { Worker } from "../../src/runs/worker.js";
import { lastValue } from "../../src/channels/index.js";
import { defineState } from "../../src/state.js";

/** Options of the worker suite's wake-up tests: how to drop the store's wake-up connection, where it has one. */
export interface WakeSuiteOptions {
  /**
   * Ends the store's connection for wake-ups from the server's side
   * (pg_terminate_backend, CLIENT KILL), once it is open. Without it, the
   * test of a dropped connection is skipped (memory, SQLite: no such connection).
   */
  dropWakeConnection?(checkpointer: Checkpointer): Promise<void>;
}

/** Far longer than any test: a run that starts in time was woken, not polled. */
const POLL_MS = 10_000;
/** Generous, for a loaded machine: the target is 20 ms; a poll would take POLL_MS. */
const PROMPT_MS = 1_000;

const State = defineState({ done: lastValue<boolean>({ default: () => false }) });

/**
 * Idle workers wake when a run is created or freed, instead of at their next
 * poll (RunStore.watch), on stores that can tell; on the others (a store
 * without `watch`) these tests are skipped. Stopping a worker or closing the
 * store never waits for a poll.
 */
export function wakeRunTests(
  options: WakeSuiteOptions,
  store: () => Promise<Checkpointer>,
  onCleanup: (step: () => Promise<void>) => void,
): void {
  describe("workers wake", () => {
    async function idleWorker(stepMs = 1) {
      const checkpointer = await store();
      const graph = new StateGraph(State)
        .addNode("work", async () => {
          await sleep(stepMs);
          return { done: true };
        })
        .addEdge(START, "work")
        .addEdge("work", END)
        .compile({ checkpointer });
      const client = new Client({ checkpointer, graphs: { work: graph } });
      const worker = new Worker({ graphs: { work: graph }, pollMs: POLL_MS }).start();
      onCleanup(() => worker.drain());
      // Its first claim found nothing; it waits now (and the store's wake-up connection is open).
      await sleep(300);
      const run = (threadId: string) => client.runs.create(threadId, {}, { graph: "work" });
      const ended = (created: RunRecord) => client.runs.wait(created.id, { timeoutMs: 30_000 });
      const waking = checkpointer.runs?.watch !== undefined;
      return { checkpointer, worker, run, ended, waking, graphs: { work: graph } };
    }

    it("an idle worker starts a run created after it went idle at once, not at its next poll", async (test) => {
      const { run, ended, waking } = await idleWorker();
      if (!waking) return test.skip();
      for (const threadId of ["t-wake-1", "t-wake-2", "t-wake-3"]) {
        const done = await ended(await run(threadId));
        expect(done.status).toBe("succeeded");
        expect(done.startedAt!.getTime() - done.createdAt.getTime()).toBeLessThan(PROMPT_MS);
        await sleep(50);
      }
    });

    it("a thread's next run starts when the run before it ends, not at the next poll", async (test) => {
      const { run, ended, waking } = await idleWorker(200);
      if (!waking) return test.skip();
      const first = await run("t-queue");
      const second = await run("t-queue");
      const before = await ended(first);
      const after = await ended(second);
      expect(after.status).toBe("succeeded");
      expect(after.startedAt!.getTime() - before.endedAt!.getTime()).toBeLessThan(PROMPT_MS);
    });

    it("after its wake-up connection drops, the store reconnects and a worker starts runs again", async (test) => {
      if (options.dropWakeConnection === undefined) return test.skip();
      const { checkpointer, run, ended } = await idleWorker();
      await options.dropWakeConnection(checkpointer);
      // Created while the connection may still be down: found once it listens again.
      const during = await ended(await run("t-drop-1"));
      expect(during.startedAt!.getTime() - during.createdAt.getTime()).toBeLessThan(5_000);
      await sleep(200);
      const after = await ended(await run("t-drop-2"));
      expect(after.startedAt!.getTime() - after.createdAt.getTime()).toBeLessThan(PROMPT_MS);
    });

    it("an idle worker drains, and its store closes, without waiting for a poll", async () => {
      const { checkpointer, worker, graphs } = await idleWorker();
      let started = Date.now();
      await worker.drain();
      expect(Date.now() - started).toBeLessThan(PROMPT_MS);
      const errors: unknown[] = [];
      const other = new Worker({
        graphs,
        pollMs: POLL_MS,
        onError: (error) => errors.push(error),
      }).start();
      await sleep(100);
      // Closed under a waiting worker: its claims fail, once per poll (it does not spin), and it drains.
      started = Date.now();
      await checkpointer.close();
      expect(Date.now() - started).toBeLessThan(PROMPT_MS);
      await sleep(300);
      expect(errors.length).toBeLessThanOrEqual(1);
      started = Date.now();
      await other.drain();
      expect(Date.now() - started).toBeLessThan(PROMPT_MS);
    });
  });
}
