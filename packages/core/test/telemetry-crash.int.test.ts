import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { Client, Worker } from "@waypoint/core";
import { ChildScript } from "@waypoint/test-services";
import { tracedGraph, type WrittenSpan } from "./fixtures/telemetry-graph.js";
import { installTelemetry } from "./support/otel.js";

const CHILD = fileURLToPath(new URL("./fixtures/telemetry-worker-child.ts", import.meta.url));
const directory = mkdtempSync(join(tmpdir(), "waypoint-otel-crash-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

it("a worker SIGKILLed mid-run and taken over by another: the second attempt's run span links to the first's trace", async () => {
  const file = join(directory, "runs.db");
  const spansFile = join(directory, "spans.jsonl");
  const checkpointer = new SqliteCheckpointer(file);
  const telemetry = installTelemetry();
  try {
    const client = new Client({ checkpointer });
    const run = await client.runs.create("t", { log: "start" }, { graph: "traced" });

    // The first worker, in another process, traced to a file: killed inside "slow".
    const child = new ChildScript(CHILD, [file, spansFile]);
    await child.waitFor((line) => line === "slow-started");
    child.process.kill("SIGKILL");
    await child.exited;

    // Its checkpoints carry its run span's trace context.
    const stored = new Set<string>();
    for await (const header of checkpointer.list("t"))
      if (typeof header.metadata.traceparent === "string") stored.add(header.metadata.traceparent);
    expect(stored.size).toBe(1);
    const [, traceId, spanId] = [...stored][0]!.split("-");
    // What the first attempt exported before it died belongs to that trace, under that run span.
    expect(existsSync(spansFile)).toBe(true);
    const exported = readFileSync(spansFile, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as WrittenSpan);
    const gather = exported.find((span) => span.name === "gather")!;
    expect(gather.traceId).toBe(traceId);
    const superstep = exported.find((span) => span.spanId === gather.parentSpanId)!;
    expect(superstep.name).toBe("waypoint.superstep");
    expect(superstep.parentSpanId).toBe(spanId);

    // A second worker takes the run over once the lease lapses, and finishes it.
    const worker = new Worker({
      graphs: { traced: tracedGraph(checkpointer, false) },
      leaseMs: 600,
      heartbeatMs: 100,
      pollMs: 20,
    }).start();
    const ended = await client.runs.wait(run.id, { timeoutMs: 15_000 });
    await worker.drain();
    expect(ended.status).toBe("succeeded");

    const runs = telemetry.spans().filter((span) => span.name === "invoke_workflow traced");
    expect(runs).toHaveLength(1);
    const second = runs[0]!;
    expect(second.attributes).toMatchObject({
      "waypoint.run.id": run.id,
      "waypoint.resumed": true,
      "gen_ai.conversation.id": "t",
    });
    expect(second.links.map((link) => [link.context.traceId, link.context.spanId])).toEqual([
      [traceId, spanId],
    ]);
    // Only "slow" ran again: "gather" finished before the crash.
    const tasks = telemetry
      .spans()
      .filter((span) => span.attributes["waypoint.node"] !== undefined)
      .map((span) => span.name);
    expect(tasks).toEqual(["slow"]);
    expect(await telemetry.metric("waypoint.runs.claimed")).toBe(1);
    expect(await telemetry.metric("waypoint.runs.taken_over")).toBe(1);
  } finally {
    await telemetry.uninstall();
    await checkpointer.close();
  }
});
