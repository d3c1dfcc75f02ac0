/**
 * One chaos worker process: opens the store named in its environment, runs
 * the chaos graph's runs, and is killed with SIGKILL at some point.
 */
import { Worker } from "@waypoint/core";
import { chaosGraph } from "./graph.js";
import { openStore, type ChaosStore } from "./stores.js";

const store = JSON.parse(process.env.CHAOS_STORE!) as ChaosStore;
const checkpointer = openStore(store);
const graph = chaosGraph(checkpointer, process.env.CHAOS_SINK!, Number(process.env.CHAOS_STEP_MS));
new Worker({
  graphs: { chaos: graph },
  concurrency: Number(process.env.CHAOS_CONCURRENCY),
  leaseMs: Number(process.env.CHAOS_LEASE_MS),
  pollMs: 25,
  onError: (error) => console.error(`worker ${process.pid}:`, error),
})
  .start()
  .drainOn(["SIGTERM"], () => void checkpointer.close().then(() => process.exit(0)));
