import { setTimeout as sleep } from "node:timers/promises";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { Client, Worker, type RunnableGraph } from "@waypoint/core";
import { DedupSink, runWorkerSuite, stepGraph } from "@waypoint/core/testing";
import { expect, it } from "vitest";

runWorkerSuite({ name: "memory", create: () => new MemoryCheckpointer() });

it("a failure after the graph stopped goes to onError, and the run waits for its lease to lapse", async () => {
  const checkpointer = new MemoryCheckpointer();
  const client = new Client({ checkpointer });
  let runId = "";
  const real = stepGraph(checkpointer, new DedupSink(), {
    hooks: { 2: async () => void (await client.runs.pause(runId)) },
  });
  // The graph runs for real; reading its state afterwards fails, as a store going away would.
  const flaky: RunnableGraph = {
    checkpointer,
    invoke: (input, options) => real.invoke(input as never, options),
    getState: () => Promise.reject(new Error("store went away")),
    updateState: (threadId, values, options) => real.updateState(threadId, values, options),
  };
  const errors: unknown[] = [];
  runId = (await client.runs.create("t", { tag: "f", step: 0 }, { graph: "steps" })).id;
  const worker = new Worker({
    graphs: { steps: flaky },
    pollMs: 10,
    onError: (error) => errors.push(error),
  }).start();
  while (errors.length === 0) await sleep(10);
  await worker.drain();
  expect(errors).toEqual([new Error("store went away")]);
  expect((await client.runs.get(runId))?.status).toBe("running");
});

it("client.runs.prune deletes the records of runs that ended, and leaves their threads", async () => {
  const checkpointer = new MemoryCheckpointer();
  const client = new Client({ checkpointer });
  const graph = stepGraph(checkpointer, new DedupSink(), { steps: 2, stepMs: 1 });
  const done = await client.runs.create("t1", { tag: "a", step: 0 }, { graph: "steps" });
  const worker = new Worker({ graphs: { steps: graph }, pollMs: 5 }).start();
  const ended = await client.runs.wait(done.id, { timeoutMs: 5000 });
  await worker.drain();
  const queued = await client.runs.create("t2", { tag: "b", step: 0 }, { graph: "steps" });

  const cutoff = new Date(ended.endedAt!.getTime() + 1);
  expect(await client.runs.prune({ endedBefore: cutoff })).toEqual({ deleted: 1 });
  expect(await client.runs.get(done.id)).toBeUndefined();
  expect((await client.runs.get(queued.id))?.status).toBe("pending");
  // The thread the run worked on is still there, as it ended.
  expect((await graph.getState("t1"))?.values).toMatchObject({ step: 2, tag: "a" });
});
