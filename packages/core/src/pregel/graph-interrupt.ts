import { INTERRUPT } from "../constants.js";

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
