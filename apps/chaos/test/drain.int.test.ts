import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@waypoint/core";
import { afterAll, expect, it } from "vitest";
import { spawnWorker } from "../src/chaos.js";
import { chaosGraph } from "../src/graph.js";
import { startSink } from "../src/sink.js";
import { openStore, type ChaosStore } from "../src/stores.js";

const directory = mkdtempSync(join(tmpdir(), "waypoint-drain-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

it("a worker process sent SIGTERM finishes its supersteps, hands its runs back and exits; another worker ends them", async () => {
  const store: ChaosStore = { backend: "sqlite", location: join(directory, "drain.db") };
  const sink = await startSink();
  const checkpointer = openStore(store);
  const graph = chaosGraph(checkpointer, sink.url, 0);
  const client = new Client({ checkpointer, graphs: { chaos: graph } });
  try {
    const runs = [];
    for (let i = 0; i < 2; i += 1)
      runs.push(await client.runs.create(`drain-${i}`, { step: 0 }, { graph: "chaos" }));
    // A long lease: if the runs were not handed back, the second worker could not take them in time.
    const first = spawnWorker(store, sink.url, { stepMs: 150, concurrency: 2, leaseMs: 60_000 });
    while ((await client.runs.list({ status: "running" })).length < 2) await sleep(20);
    while (((await graph.getState("drain-0"))?.values.step ?? 0) < 2) await sleep(20);
    const signalled = Date.now();
    first.kill("SIGTERM");
    const [code] = (await once(first, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5_000);
    for (const run of runs) {
      expect(await client.runs.get(run.id)).toMatchObject({
        status: "pending",
        workerId: null,
        attempts: 0,
      });
    }
    const kept = (await graph.getState("drain-0"))!.values.step;
    expect(kept).toBeGreaterThanOrEqual(2);
    const second = spawnWorker(store, sink.url, { stepMs: 10, concurrency: 2, leaseMs: 60_000 });
    try {
      for (const run of runs)
        expect((await client.runs.wait(run.id, { timeoutMs: 30_000 })).status).toBe("succeeded");
    } finally {
      second.kill("SIGKILL");
    }
    // Each step's effect once: the drained supersteps were not run again.
    expect(sink.requests()).toBe(20);
    expect(sink.applied().size).toBe(20);
  } finally {
    await sink.close();
    await checkpointer.close();
  }
}, 60_000);
