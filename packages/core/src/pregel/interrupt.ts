import { AsyncLocalStorage } from "node:async_hooks";
import type { Checkpointer } from "@waypoint/checkpoint";
import type { StreamEvent, StreamMode } from "./stream-events.js";
import { taskId } from "./task-id.js";

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
  readonly recursionLimit: number;
  readonly durability: "sync" | "async" | "exit";
  readonly emit: (event: StreamEvent) => void;
  readonly modes: ReadonlySet<StreamMode>;
}

export interface TaskScope {
  readonly taskId: string;
  readonly node: string;
  readonly namespace: string;
  readonly resumeValues: Readonly<Record<string, unknown>>;
  readonly runtime: TaskRuntime;
  calls: number;
}

const scope = new AsyncLocalStorage<TaskScope>();

/**
 * Thrown by `interrupt()` (or by a subgraph that paused) to stop the node;
 * the run loop catches it. A node must not swallow it.
 */
export class GraphInterrupt extends Error {
  constructor(readonly interrupts: readonly Interrupt[]) {
    super(`interrupted: ${interrupts.map((i) => i.id).join(", ")}`);
    this.name = "GraphInterrupt";
  }
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
  const id = taskId([current.taskId, "interrupt", current.calls]);
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
