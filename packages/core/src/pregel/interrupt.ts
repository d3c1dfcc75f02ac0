import { AsyncLocalStorage } from "node:async_hooks";
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

interface TaskScope {
  readonly taskId: string;
  readonly node: string;
  readonly namespace: string;
  readonly resumeValues: Readonly<Record<string, unknown>>;
  calls: number;
}

const scope = new AsyncLocalStorage<TaskScope>();

/** Thrown by `interrupt()` to stop the node; the run loop catches it. Do not swallow it. */
export class GraphInterrupt extends Error {
  constructor(readonly interrupt: Interrupt) {
    super(`interrupted: ${interrupt.id}`);
    this.name = "GraphInterrupt";
  }
}

export function runInTaskScope<T>(task: Omit<TaskScope, "calls">, body: () => T): T {
  return scope.run({ ...task, calls: 0 }, body);
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
  throw new GraphInterrupt({
    id,
    value,
    node: current.node,
    taskId: current.taskId,
    namespace: current.namespace,
    kind: "dynamic",
  });
}
