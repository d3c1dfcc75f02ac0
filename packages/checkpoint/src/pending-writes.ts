/**
 * Pending writes are saved against a checkpoint while its superstep is still
 * running: the writes of a task that finished early, effect results, an
 * interrupt, an error, a salvaged partial output. On resume, a task that has
 * pending writes is not run again.
 */

export interface PendingWrite {
  readonly taskId: string;
  /**
   * Position within the task. A write to the same (taskId, idx) replaces the
   * earlier one, so a retried or repeated save is harmless. Negative values are
   * reserved for the runtime's own records (for example, the latest partial output).
   */
  readonly idx: number;
  readonly channel: string;
  readonly value: unknown;
}

/** Reserved channel: the task called `interrupt()`; the thread waits for a resume. */
export const INTERRUPT_CHANNEL = "__interrupt__";
/** Reserved channel: written over an interrupt's pending write (same task and idx) when it is answered. */
export const RESUME_CHANNEL = "__resume__";
/** Reserved channel: the task failed; the value is the serialized error. */
export const ERROR_CHANNEL = "__error__";
