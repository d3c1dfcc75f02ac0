import { AsyncLocalStorage } from "node:async_hooks";
import type { Checkpointer } from "@waypoint/checkpoint";
import type { StreamEvent, StreamMode } from "./stream-events.js";
import { INTERRUPT } from "../constants.js";
import { CheckpointerRequiredError } from "../errors.js";
import type { CallFrame, RecordedCall } from "./effects.js";
import { taskId } from "./task-id.js";
import type { RunTelemetry } from "../telemetry/run-telemetry.js";

/** A pending interrupt, as getState and invoke report it. */
export interface Interrupt {
  /** Unique per `interrupt()` call: derived from the task and the call's position in it. */
  readonly id: string;
  readonly value: unknown;
  readonly node: string;
  readonly taskId: string;
  readonly namespace: string;
  /** "dynamic" for interrupt(), "before"/"after" for interruptBefore/interruptAfter. */
  readonly kind: "dynamic" | "before" | "after";
}

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

/**
 * Thrown by `interrupt()` (or by a subgraph that paused) to stop the node;
 * the run loop catches it. A node must not swallow it: code that catches
 * every error (a tool wrapper, say) must rethrow it (see `isGraphInterrupt`).
 */
export class GraphInterrupt extends Error {
  constructor(readonly interrupts: readonly Interrupt[]) {
    super(`interrupted: ${interrupts.map((i) => i.id).join(", ")}`);
    this.name = "GraphInterrupt";
  }
}

/** Whether `error` is the pause of an `interrupt()`, which must be rethrown, not handled. */
export function isGraphInterrupt(error: unknown): error is GraphInterrupt {
  return error instanceof GraphInterrupt;
}

/**
 * Whether `invoke`'s result (or a stream chunk) reports a pause, as
 * LangGraph's `isInterrupted`: its `__interrupt__` key holds a list.
 * Waypoint's `invoke` lists static pauses (interruptBefore/After) there too;
 * a stream chunk of a static pause holds an empty list.
 */
export function isInterrupted<Value = unknown>(
  values: unknown,
): values is { readonly [INTERRUPT]: readonly (Interrupt & { readonly value: Value })[] } {
  return (
    typeof values === "object" &&
    values !== null &&
    INTERRUPT in values &&
    Array.isArray((values as { readonly [INTERRUPT]: unknown })[INTERRUPT])
  );
}

/** The scope of the task running now (for subgraphs run as nodes). */
export function currentTaskScope(): TaskScope | undefined {
  return scope.getStore();
}

/** Runs `body` in a fresh scope (its `calls` start at 0); the scope object is the task's own. */
export function runInTaskScope<T>(task: TaskScope, body: () => T): T {
  return scope.run(task, body);
}

/**
 * Pauses the run for a human. The first time, it stops the node and the
 * run reports the interrupt; after `invoke(new Command({ resume }))`, the
 * node runs again from its first line and this call returns the resume value.
 */
export function interrupt<Resume = unknown>(value: unknown): Resume {
  const current = scope.getStore();
  if (current === undefined) throw new Error("interrupt() was called outside a running node");
  if (!current.runtime.persistent) throw new CheckpointerRequiredError("interrupt()");
  const id = taskId([current.idBase ?? current.taskId, "interrupt", current.calls]);
  current.calls += 1;
  if (Object.hasOwn(current.resumeValues, id)) return current.resumeValues[id] as Resume;
  throw new GraphInterrupt([
    {
      id,
      value,
      node: current.node,
      taskId: current.taskId,
      namespace: current.namespace,
      kind: "dynamic",
    },
  ]);
}
