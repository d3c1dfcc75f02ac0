/** For tests: named fault points in the runtime (crash or fail at an exact boundary), and a store outage mid-run. */
export {
  InjectedFault,
  armFault,
  disarmFaults,
  type FaultAction,
  type FaultPointName,
} from "../src/faults.js";
/** For a checkpointer's tests: a run that must ride out, or resume after, its store going away. */
export { OUTAGE_STEPS, runThroughOutage, type OutageResult } from "./run-through-outage.js";
/** For a checkpointer's tests: runs, workers, control and strategies on that store. */
export { DedupSink, runWorkerSuite, type WorkerSuiteOptions } from "./worker-suite.js";
export type { WakeSuiteOptions } from "./worker-suite/wake-runs.js";
/** @internal */
export { stepGraph } from "./worker-suite.js";
/** For a checkpointer's tests: threads written by one version of a graph, loaded by the next. */
export { runDeploySuite, type DeploySuiteOptions } from "./deploy-suite.js";
/**
 * For the workspace's benchmark: the check every run makes for a registered
 * OpenTelemetry SDK (all tracing costs without one).
 *
 * @internal
 */
export { telemetryRegistered } from "../src/telemetry/run-telemetry.js";
