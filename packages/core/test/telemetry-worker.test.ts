import { afterEach, beforeEach, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { Client, END, START, StateGraph, Worker, defineState, lastValue } from "@waypoint/core";
import { installTelemetry, type TestTelemetry } from "./support/otel.js";

let telemetry: TestTelemetry;
beforeEach(() => {
  telemetry = installTelemetry();
});
afterEach(async () => {
  await telemetry.uninstall();
});

it("a worker counts the runs it claims and fails, and its lease renewals", async () => {
  const checkpointer = new MemoryCheckpointer();
  const graph = new StateGraph(defineState({ mode: lastValue<string>() }))
    .addNode("work", async ({ mode }) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (mode === "fail") throw new Error("no luck");
      return {};
    })
    .addEdge(START, "work")
    .addEdge("work", END)
    .compile({ checkpointer, name: "jobs" });
  const client = new Client({ checkpointer });
  const worker = new Worker({
    graphs: { jobs: graph },
    leaseMs: 1_000,
    heartbeatMs: 20,
    pollMs: 10,
  }).start();
  try {
    const ok = await client.runs.create("a", { mode: "ok" }, { graph: "jobs" });
    const bad = await client.runs.create("b", { mode: "fail" }, { graph: "jobs" });
    expect((await client.runs.wait(ok.id, { timeoutMs: 5_000 })).status).toBe("succeeded");
    expect((await client.runs.wait(bad.id, { timeoutMs: 5_000 })).status).toBe("failed");
  } finally {
    await worker.drain();
  }
  const jobs = { "waypoint.graph.name": "jobs" };
  expect(await telemetry.metric("waypoint.runs.claimed", jobs)).toBe(2);
  expect(await telemetry.metric("waypoint.runs.taken_over", jobs)).toBe(0);
  expect(await telemetry.metric("waypoint.runs.failed", jobs)).toBe(1);
  // 150 ms of work per run with a heartbeat every 20 ms.
  expect(await telemetry.metric("waypoint.lease.renewals", jobs)).toBeGreaterThanOrEqual(4);
});
