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
