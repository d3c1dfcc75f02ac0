import { INTERRUPT_CHANNEL, type ChannelWrite, type PendingWrite } from "@waypoint/checkpoint";
import { DONE_CHANNEL, RESUME_VALUES_CHANNEL, SLOT } from "../constants.js";
import type { Interrupt } from "./graph-interrupt.js";

/**
 * Reading a checkpoint's pending writes. Per task: its channel writes at
 * idx 0..n-1 and a DONE marker once it finished; fixed negative slots for its
 * interrupt status (INTERRUPT with the open interrupts, replaced by RESUME once
 * all are answered), its resume
 * values, and its error.
 */
export function taskIsDone(writes: readonly PendingWrite[]): boolean {
  return writes.some((write) => write.channel === DONE_CHANNEL);
}

export function taskWritesFrom(writes: readonly PendingWrite[]): ChannelWrite[] {
  return writes
    .filter((write) => write.idx >= 0 && write.channel !== DONE_CHANNEL)
    .sort((a, b) => a.idx - b.idx)
    .map(({ taskId, channel, value }) => ({ taskId, channel, value }));
}

const NO_RESUME_VALUES: Readonly<Record<string, unknown>> = Object.freeze({});

export function resumeValuesFor(
  writes: readonly PendingWrite[],
): Readonly<Record<string, unknown>> {
  const slot = writes.find(
    (write) => write.idx === SLOT.resumeValues && write.channel === RESUME_VALUES_CHANNEL,
  );
  return (slot?.value as Record<string, unknown> | undefined) ?? NO_RESUME_VALUES;
}

/**
 * Open interrupt slots: the task that waits, and the interrupts it waits on
 * (several when it is a subgraph paused in several places; their own taskId
 * is then the subgraph's task, not this one).
 */
export function interruptSlots(
  pending: readonly PendingWrite[],
): { taskId: string; interrupts: Interrupt[] }[] {
  return pending
    .filter((write) => write.idx === SLOT.status && write.channel === INTERRUPT_CHANNEL)
    .map((write) => ({ taskId: write.taskId, interrupts: write.value as Interrupt[] }));
}

/** Interrupts still waiting for an answer. */
export function pendingInterrupts(pending: readonly PendingWrite[]): Interrupt[] {
  return interruptSlots(pending).flatMap((slot) => slot.interrupts);
}
