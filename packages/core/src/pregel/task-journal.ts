import { serializeError, type PendingWrite, type SerializedError } from "@waypoint/checkpoint";
import { EFFECT_CHANNEL, EFFECT_RETRY_CHANNEL, PARTIAL_CHANNEL, SLOT } from "../constants.js";

/** A recorded effect: what `fn` returned, or the TerminalError it threw. */
export interface EffectRecord {
  readonly name: string;
  readonly index: number;
  /**
   * The recorded call this one was made inside ("2", "2.0"; see CallFrame),
   * absent for the node's own calls. Calls of the Functional API's tasks
   * and effects inside them have one.
   */
  readonly scope?: string;
  /** "task" for a Functional API task call; absent for `ctx.effect`. */
  readonly kind?: "task";
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
  readonly scope?: string;
  /** 1 after the first retry; part of the effect's next idempotency key. */
  readonly retries: number;
  readonly error?: SerializedError;
}

/** Effect slots: idx -100 for a task's first effect, -101 for its second, and so on. */
export const effectSlot = (index: number) => SLOT.effectBase - index;

/**
 * Calls made inside other calls take slots from here down, in the order they
 * are recorded (their number is in the record, not in the slot): a task has
 * room for a million calls of its own above.
 */
const NESTED_SLOT_BASE = SLOT.effectBase - 1_000_000;

/** A record's key in the journal: its frame and its number there. */
const recordKey = (index: number, scope: string | undefined) =>
  scope === undefined ? index : `${scope}#${index}`;

/**
 * What a task has recorded in its pending writes: its effects and its latest
 * partial output. Shared by the task's attempts in this process, and rebuilt
 * from storage after a crash.
 */
export class TaskJournal {
  /** By key (recordKey); made when the first effect is read or recorded (most tasks have none). */
  private effects: Map<number | string, EffectRecord> | undefined;
  /** Effects whose recorded TerminalError was cleared for a retry: key → retries so far. */
  private retried: Map<number | string, number> | undefined;
  /** The slots of nested calls recorded so far, by key, and the next free one. */
  private nestedSlots: Map<string, number> | undefined;
  private nextNestedSlot = NESTED_SLOT_BASE;
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
        (this.effects ??= new Map()).set(recordKey(record.index, record.scope), record);
        this.noteSlot(record, write.idx);
      } else if (write.channel === EFFECT_RETRY_CHANNEL) {
        const cleared = write.value as ClearedEffect;
        (this.retried ??= new Map()).set(recordKey(cleared.index, cleared.scope), cleared.retries);
        this.noteSlot(cleared, write.idx);
      } else if (write.channel === PARTIAL_CHANNEL) {
        partial = write.value as { value: unknown; savedAt: number };
      }
    }
    this.salvage =
      partial === undefined
        ? undefined
        : { value: partial.value, savedAt: new Date(partial.savedAt), recoveredAfterCrash: true };
  }

  effect(index: number, scope?: string): EffectRecord | undefined {
    return this.effects?.get(recordKey(index, scope));
  }

  /** How many times the effect's recorded failure was cleared for a retry (0 for most). */
  retries(index: number, scope?: string): number {
    return this.retried?.get(recordKey(index, scope)) ?? 0;
  }

  async recordEffect(record: EffectRecord): Promise<void> {
    await this.save([
      {
        taskId: this.taskId,
        idx: this.slotOf(record),
        channel: EFFECT_CHANNEL,
        value: record,
      },
    ]);
    (this.effects ??= new Map()).set(recordKey(record.index, record.scope), record);
  }

  /** A call's slot: from its number for the node's own calls; for a nested one, the slot it had, or the next free one. */
  private slotOf(record: { readonly index: number; readonly scope?: string }): number {
    if (record.scope === undefined) return effectSlot(record.index);
    const key = `${record.scope}#${record.index}`;
    const known = this.nestedSlots?.get(key);
    if (known !== undefined) return known;
    const slot = this.nextNestedSlot--;
    (this.nestedSlots ??= new Map()).set(key, slot);
    return slot;
  }

  private noteSlot(record: { readonly index: number; readonly scope?: string }, slot: number) {
    if (record.scope === undefined) return;
    (this.nestedSlots ??= new Map()).set(`${record.scope}#${record.index}`, slot);
    if (slot <= this.nextNestedSlot) this.nextNestedSlot = slot - 1;
  }

  recordFailure(
    call: {
      readonly name: string;
      readonly index: number;
      readonly scope?: string;
      readonly kind?: "task";
    },
    error: unknown,
  ): Promise<void> {
    const { name, index, scope, kind } = call;
    const retries = this.retries(index, scope);
    return this.recordEffect({
      name,
      index,
      ...(scope !== undefined ? { scope } : {}),
      ...(kind !== undefined ? { kind } : {}),
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
