import {
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
  type ChannelWrite,
  type PendingWrite,
  type PlannedTask,
} from "@waypoint/checkpoint";
import { DONE_CHANNEL, ORIGIN_CHANNEL, SLOT } from "../constants.js";
import type { GraphSpec } from "../graph/graph-spec.js";
import type { Interrupt } from "./graph-interrupt.js";
import { interruptSlots, taskIsDone, taskWritesFrom } from "./pending.js";

/**
 * Pure helpers for editing a thread between supersteps (updateState and a
 * Command given as input): which of the planned tasks finished, what their
 * saved progress is, and what a new checkpoint carries over.
 */

/** Channels that keep one value: an edit's write to one replaces a finished task's. */
const SINGLE_VALUED = new Set(["lastValue", "ephemeral", "untracked"]);

export function pendingOf(taskId: string, pending: readonly PendingWrite[]): PendingWrite[] {
  return pending.filter((write) => write.taskId === taskId);
}

/** The planned tasks that already finished (their writes are saved as pending writes). */
export function finishedTasks(
  next: readonly PlannedTask[],
  pending: readonly PendingWrite[],
): PlannedTask[] {
  if (pending.length === 0) return [];
  return next.filter((task) => taskIsDone(pendingOf(task.id, pending)));
}

/** What finished tasks wrote, in plan order (the order the superstep applies them in). */
export function finishedWrites(
  next: readonly PlannedTask[],
  pending: readonly PendingWrite[],
): ChannelWrite[] {
  return finishedTasks(next, pending).flatMap((task) =>
    taskWritesFrom(pendingOf(task.id, pending)),
  );
}

/** The single-valued state channels that `writes` set: an earlier write to them is superseded. */
export function supersededBy(spec: GraphSpec, writes: readonly ChannelWrite[]): Set<string> {
  return new Set(
    writes
      .filter((write) => SINGLE_VALUED.has(spec.channels.get(write.channel)?.kind ?? ""))
      .map((write) => write.channel),
  );
}

/**
 * The pending writes a planned task takes to the checkpoint an edit makes,
 * where it keeps its id: its finished writes (minus those the edit
 * supersedes), its interrupts (a pause before a node is approved by the
 * edit), its resume values, recorded effects and partial output, and the
 * checkpoint it was planned in, which its effects' idempotency keys keep
 * naming. Its error is not carried: the task runs again.
 */
export function carriedPending(
  tasks: readonly PlannedTask[],
  pending: readonly PendingWrite[],
  plannedIn: string,
  superseded: ReadonlySet<string>,
): PendingWrite[] {
  const writes: PendingWrite[] = [];
  for (const task of tasks) {
    const own = pendingOf(task.id, pending);
    let origin = false;
    for (const write of own) {
      if (write.idx === SLOT.error && write.channel === ERROR_CHANNEL) continue;
      if (write.idx >= 0 && write.channel !== DONE_CHANNEL && superseded.has(write.channel))
        continue;
      if (write.channel === ORIGIN_CHANNEL) origin = true;
      if (write.idx === SLOT.status && write.channel === INTERRUPT_CHANNEL) {
        const interrupts = write.value as Interrupt[];
        if (interrupts.every((i) => i.kind === "before")) {
          writes.push({ ...write, channel: RESUME_CHANNEL });
          continue;
        }
      }
      writes.push(write);
    }
    if (!origin)
      writes.push({ taskId: task.id, idx: SLOT.origin, channel: ORIGIN_CHANNEL, value: plannedIn });
  }
  return writes;
}

/** The checkpoint a task was planned in, when an edit carried it to a later one. */
export function originOf(own: readonly PendingWrite[]): string | undefined {
  for (const write of own)
    if (write.idx === SLOT.origin && write.channel === ORIGIN_CHANNEL) return write.value as string;
  return undefined;
}

/** The interrupts a task still waits on (none once answered or approved). */
export function openInterruptsOf(own: readonly PendingWrite[]): Interrupt[] {
  return interruptSlots(own).flatMap((slot) => slot.interrupts);
}

/** A node's update as streamed and shown in getState: `{ key: value }`, a list when a key was written several times. */
export function updateFromWrites(
  writes: readonly ChannelWrite[],
  stateKeys: readonly string[],
): Record<string, unknown> {
  const byKey = new Map<string, unknown[]>();
  for (const write of writes) {
    if (!stateKeys.includes(write.channel)) continue;
    byKey.set(write.channel, [...(byKey.get(write.channel) ?? []), write.value]);
  }
  return Object.fromEntries(
    [...byKey].map(([key, values]) => [key, values.length === 1 ? values[0] : values]),
  );
}
