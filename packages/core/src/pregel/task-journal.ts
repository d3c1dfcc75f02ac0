import { serializeError, type PendingWrite, type SerializedError } from "@waypoint/checkpoint";
import { EFFECT_CHANNEL, EFFECT_RETRY_CHANNEL, PARTIAL_CHANNEL, SLOT } from "../constants.js";

/** A recorded effect: what `fn` returned, or the TerminalError it threw. */
export interface EffectRecord {
  readonly name: string;
  readonly index: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: SerializedError;
  /** Set when the effect ran again after its recorded failure was cleared: how many times. */
  readonly retries?: number;
}

/** The latest partial output of a task, and whether it was saved by an earlier process. */
export interface Salvage {
  readonly value: unknown;
  readonly savedAt: Date;
  /** True when the partial came from storage: the process that saved it stopped mid-task. */
  readonly recoveredAfterCrash: boolean;
}

/**
 * What replaces a recorded TerminalError in its slot when the user asks to
 * retry it (`retryFailedEffects`): the effect runs again, under a new key.
 */
export interface ClearedEffect {
  readonly name: string;
  readonly index: number;
  /** 1 after the first retry; part of the effect's next idempotency key. */
  readonly retries: number;
  readonly error?: SerializedError;
}

/** Effect slots: idx -100 for a task's first effect, -101 for its second, and so on. */
export const effectSlot = (index: number) => SLOT.effectBase - index;

/**
 * What a task has recorded in its pending writes: its effects and its latest
 * partial output. Shared by the task's attempts in this process, and rebuilt
 * from storage after a crash.
 */
export class TaskJournal {
  /** By index; made when the first effect is read or recorded (most tasks have none). */
  private effects: Map<number, EffectRecord> | undefined;
  /** Effects whose recorded TerminalError was cleared for a retry: index → retries so far. */
  private retried: Map<number, number> | undefined;
  readonly salvage: Salvage | undefined;

  constructor(
    readonly taskId: string,
    earlier: readonly PendingWrite[],
    private readonly save: (writes: PendingWrite[]) => Promise<void>,
    /** Resolves once the checkpoint the task was planned in is stored (durability "async"). */
    readonly planStored: () => Promise<unknown> = () => Promise.resolve(),
  ) {
    let partial: { value: unknown; savedAt: number } | undefined;
    for (const write of earlier) {
      if (write.channel === EFFECT_CHANNEL) {
        const record = write.value as EffectRecord;
        (this.effects ??= new Map()).set(record.index, record);
      } else if (write.channel === EFFECT_RETRY_CHANNEL) {
        const cleared = write.value as ClearedEffect;
        (this.retried ??= new Map()).set(cleared.index, cleared.retries);
      } else if (write.channel === PARTIAL_CHANNEL) {
        partial = write.value as { value: unknown; savedAt: number };
      }
    }
    this.salvage =
      partial === undefined
        ? undefined
        : { value: partial.value, savedAt: new Date(partial.savedAt), recoveredAfterCrash: true };
  }

  effect(index: number): EffectRecord | undefined {
    return this.effects?.get(index);
  }

  /** How many times the effect's recorded failure was cleared for a retry (0 for most). */
  retries(index: number): number {
    return this.retried?.get(index) ?? 0;
  }

  async recordEffect(record: EffectRecord): Promise<void> {
    await this.save([
      {
        taskId: this.taskId,
        idx: effectSlot(record.index),
        channel: EFFECT_CHANNEL,
        value: record,
      },
    ]);
    (this.effects ??= new Map()).set(record.index, record);
  }

  recordFailure(name: string, index: number, error: unknown): Promise<void> {
    const retries = this.retries(index);
    return this.recordEffect({
      name,
      index,
      ok: false,
      error: serializeError(error),
      ...(retries > 0 ? { retries } : {}),
    });
  }

  savePartial(value: unknown): Promise<void> {
    return this.save([
      {
        taskId: this.taskId,
        idx: SLOT.partial,
        channel: PARTIAL_CHANNEL,
        value: { value, savedAt: Date.now() },
      },
    ]);
  }
}
