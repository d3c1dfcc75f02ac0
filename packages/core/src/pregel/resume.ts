import { INTERRUPT_CHANNEL, RESUME_CHANNEL, type PendingWrite } from "@waypoint/checkpoint";
import { RESUME_VALUES_CHANNEL, SLOT } from "../constants.js";
import { InvalidResumeError } from "../errors.js";
import { interruptSlots, pendingInterrupts, resumeValuesFor } from "./pending.js";
import { statusWrite } from "./run-helpers.js";

/**
 * The pending writes that answer a thread's open interrupts with a resume
 * value: a bare value when exactly one is open, or an object keyed by
 * interrupt id. A task whose interrupts are all answered gets its status slot
 * overwritten with RESUME (which clears the thread's "interrupted" status);
 * one still waiting keeps INTERRUPT with what remains. Answers accumulate in
 * the task's resume-values slot, so a node that interrupts twice replays the
 * first answer. Pure: no I/O.
 */
export function resumeWrites(pending: readonly PendingWrite[], resume: unknown): PendingWrite[] {
  const ids = pendingInterrupts(pending).map((i) => i.id);
  if (ids.length === 0) throw new InvalidResumeError("There is nothing to resume.", ids);
  const keyed =
    resume !== null && typeof resume === "object" && !Array.isArray(resume)
      ? Object.keys(resume)
      : [];
  let answers: Record<string, unknown>;
  if (keyed.length > 0 && keyed.every((key) => ids.includes(key))) {
    answers = resume as Record<string, unknown>;
  } else if (ids.length === 1) {
    answers = { [ids[0]!]: resume };
  } else {
    throw new InvalidResumeError(
      `${ids.length} interrupts are pending; resume with an object keyed by interrupt id.`,
      ids,
    );
  }
  const writes: PendingWrite[] = [];
  for (const { taskId, interrupts } of interruptSlots(pending)) {
    const answered = interrupts.filter((i) => Object.hasOwn(answers, i.id));
    if (answered.length === 0) continue;
    const still = interrupts.filter((i) => !Object.hasOwn(answers, i.id));
    const earlier = resumeValuesFor(pending.filter((w) => w.taskId === taskId));
    const values = {
      ...earlier,
      ...Object.fromEntries(answered.map((i) => [i.id, answers[i.id]])),
    };
    writes.push(
      still.length > 0
        ? statusWrite(taskId, INTERRUPT_CHANNEL, still)
        : statusWrite(taskId, RESUME_CHANNEL, interrupts),
      { taskId, idx: SLOT.resumeValues, channel: RESUME_VALUES_CHANNEL, value: values },
    );
  }
  return writes;
}
