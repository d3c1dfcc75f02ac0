import type { ChannelWrite, PendingWrite, PlannedTask } from "@waypoint/checkpoint";
import { Command, DONE_CHANNEL, SLOT } from "../constants.js";
import type { Interrupt } from "./graph-interrupt.js";
import { SubgraphOutput } from "./subgraph-output.js";
import { taskId } from "./task-id.js";

/** The run loop's small pure helpers: pending-write slots, carried tasks, reported updates. */

export interface TaskIdentity {
  readonly threadId: string;
  readonly namespace: string;
}

/** Tasks planned before an update, given ids of the new checkpoint; a node already planned again is not doubled. */
export function carried(
  tasks: readonly PlannedTask[],
  planned: readonly PlannedTask[],
  checkpointId: string,
  options: TaskIdentity,
): PlannedTask[] {
  const base = [options.threadId, options.namespace, checkpointId];
  return tasks
    .filter(
      (task) =>
        task.send !== undefined ||
        !planned.some((p) => p.node === task.node && p.send === undefined),
    )
    .map((task) => ({
      ...task,
      id: task.send
        ? taskId([...base, task.node, "send", task.send.index])
        : taskId([...base, task.node, ...task.triggers]),
    }));
}

export const slotKey = (write: PendingWrite) => `${write.taskId}\u0000${write.idx}`;

export function doneWrites(taskId: string, writes: readonly ChannelWrite[]): PendingWrite[] {
  return [
    ...writes.map((write, idx) => ({ taskId, idx, channel: write.channel, value: write.value })),
    { taskId, idx: writes.length, channel: DONE_CHANNEL, value: null },
  ];
}

/**
 * A task's interrupt status slot: INTERRUPT with the interrupts it waits on,
 * or RESUME once they are answered (which is what clears the thread's
 * "interrupted" status).
 */
export function statusWrite(
  taskId: string,
  channel: string,
  interrupts: readonly Interrupt[],
): PendingWrite {
  return { taskId, idx: SLOT.status, channel, value: interrupts };
}

export function staticInterrupt(
  taskId: string,
  node: string,
  kind: "before" | "after",
  options: TaskIdentity,
): Interrupt {
  return {
    id: `${kind}:${taskId}`,
    value: { node },
    node,
    taskId,
    namespace: options.namespace,
    kind,
  };
}

export function updateOf(result: unknown): unknown {
  if (result instanceof SubgraphOutput) {
    // A subgraph's writes, by key: one value, or the list when it wrote a key several times.
    const byKey = new Map<string, unknown[]>();
    for (const write of result.writes)
      byKey.set(write.channel, [...(byKey.get(write.channel) ?? []), write.value]);
    return Object.fromEntries(
      [...byKey].map(([key, values]) => [key, values.length === 1 ? values[0] : values]),
    );
  }
  if (Array.isArray(result)) {
    // `[update, Command]`: the parts' updates, merged.
    const parts = result.map(updateOf).filter((part) => typeof part === "object" && part !== null);
    return parts.length === 0 ? null : Object.assign({}, ...parts);
  }
  if (!(result instanceof Command)) return result ?? null;
  return Array.isArray(result.update)
    ? Object.fromEntries(result.update as readonly (readonly [string, unknown])[])
    : (result.update ?? null);
}
