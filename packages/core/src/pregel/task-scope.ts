import { AsyncLocalStorage } from "node:async_hooks";
import type { Checkpointer } from "@waypoint/checkpoint";
import type { EffectInfo } from "../graph/graph-spec.js";
import type { RunTelemetry } from "../telemetry/run-telemetry.js";
import type { StreamEvent, StreamMode } from "./stream-events.js";

/**
 * Where recorded calls are numbered: the node itself (`path` undefined), or
 * the inside of one recorded call ("2" inside the node's third call, "2.0"
 * inside that call's first). Calls are numbered in the order they start, each
 * frame on its own, so calls made inside calls that run in parallel get the
 * same numbers whatever order they interleave in.
 */
export interface CallFrame {
  readonly path: string | undefined;
  calls: number;
}

/** What a recorded call is, for the error a replay that differs gets. */
export type CallKind = "effect" | "task";

/** Runs one recorded call: `ctx.effect`, or a `task()` of the Functional API. */
export type RecordedCall = <T>(
  name: string,
  fn: (info: EffectInfo) => T | Promise<T>,
  kind?: CallKind,
) => Promise<T>;

/** What a subgraph running as a node needs from the run around it. */
export interface TaskRuntime {
  readonly checkpointer: Checkpointer;
  /** False for a root graph compiled without a checkpointer: nothing it saves can be resumed. */
  readonly persistent: boolean;
  readonly recursionLimit: number;
  readonly durability: "sync" | "async" | "exit";
  readonly emit: (event: StreamEvent) => void;
  readonly modes: ReadonlySet<StreamMode>;
  /** The run's spans and metrics; undefined when no OpenTelemetry SDK is registered. */
  readonly telemetry?: RunTelemetry | undefined;
}

export interface TaskScope {
  readonly threadId: string;
  readonly taskId: string;
  readonly node: string;
  readonly namespace: string;
  readonly resumeValues: Readonly<Record<string, unknown>>;
  readonly runtime: TaskRuntime;
  /**
   * What interrupt ids derive from: the task's id, or an effect's own identity
   * inside `ctx.effect` (so that effects running in parallel, such as a tool
   * node's calls, get the same ids in whatever order they reach `interrupt()`).
   */
  readonly idBase?: string;
  readonly signal: AbortSignal;
  /** `interrupt()` calls so far (their position makes their ids). */
  calls: number;
  /** Compiled graphs invoked from this node so far (each gets a namespace of its own). */
  subgraphCalls: number;
  /** Where recorded calls made now are numbered: the node's frame, or a recorded call's. */
  readonly frame?: CallFrame;
  /** The task's recorded calls (`ctx.effect`), for the Functional API's `task()`. */
  readonly call?: RecordedCall;
}

const scope = new AsyncLocalStorage<TaskScope>();

/** The scope of the task running now (for subgraphs run as nodes). */
export function currentTaskScope(): TaskScope | undefined {
  return scope.getStore();
}

/** Runs `body` in a fresh scope (its `calls` start at 0); the scope object is the task's own. */
export function runInTaskScope<T>(task: TaskScope, body: () => T): T {
  return scope.run(task, body);
}
