/**
 * One worker process of a rolling deploy:
 * `deploy-worker.ts <1|2> <postgres url> <schema> <step ms> [--hold]` runs
 * the deploy graph at that version, prints "started" and each run it leaves
 * for a newer version as JSON lines on stdout, and drains on SIGTERM. With
 * --hold it prints "loaded" and takes no run before a line on stdin, so that
 * a test decides when a version joins the queue, whatever its start-up time.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { Worker } from "@waypoint/core";
import { DEPLOY_GRAPH, deployGraph } from "./deploy-graph.js";

const [version, url, schema, stepMs, hold] = process.argv.slice(2);
if (version !== "1" && version !== "2") throw new Error(`version must be 1 or 2, got ${version}`);
const checkpointer = new PostgresCheckpointer({ connectionString: url!, schema: schema! });
const graph = deployGraph(checkpointer, Number(version) as 1 | 2, Number(stepMs));
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (hold === "--hold") {
  print({ type: "loaded", pid: process.pid });
  await once(createInterface({ input: process.stdin }), "line");
}
new Worker({
  graphs: { [DEPLOY_GRAPH]: graph },
  concurrency: 2,
  leaseMs: 5_000,
  pollMs: 20,
  onError: (error) => console.error(`deploy worker v${version} ${process.pid}:`, error),
  onEvent: (event) =>
    print({
      type: event.type,
      pid: process.pid,
      runId: event.run.id,
      threadId: event.run.threadId,
      threadVersion: event.threadVersion,
      workerVersion: event.workerVersion,
    }),
})
  .start()
  .drainOn(["SIGTERM"], () => void checkpointer.close().then(() => process.exit(0)));
print({ type: "started", pid: process.pid, version: Number(version) });
