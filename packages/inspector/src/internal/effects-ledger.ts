import { ERROR_CHANNEL, INTERRUPT_CHANNEL, type PendingWrite } from "@waypoint/checkpoint";
import { RUNTIME_CHANNELS, recordedEffectKey } from "@waypoint/core";
import { toJson } from "./json-value.js";
import type { StoreReader } from "./store-reader.js";

/** The pending-write channels the runtime records a task's effects, partial output and origin under. */
const {
  effect: EFFECT_CHANNEL,
  effectRetry: EFFECT_RETRY_CHANNEL,
  partial: PARTIAL_CHANNEL,
  origin: ORIGIN_CHANNEL,
  done: DONE_CHANNEL,
} = RUNTIME_CHANNELS;
const STATUS_SLOT = -2;

/**
 * One recorded effect of a task, at the checkpoint whose pending writes hold it:
 * its name, idempotency key, status and result or error.
 *
 * @experimental
 */
export interface EffectRow {
  readonly checkpointId: string;
  readonly step: number;
  readonly taskId: string;
  readonly node: string;
  readonly name: string;
  readonly index: number;
  /** For a call made inside a recorded call (a task's effect): that call's path ("2", "2.0"). */
  readonly scope?: string;
  /** The key `ctx.effect` passed to `fn` (core's effectIdempotencyKey). */
  readonly idempotencyKey: string;
  readonly status: "recorded" | "failed" | "cleared for retry";
  readonly result?: unknown;
  readonly error?: unknown;
  readonly retries: number;
  /** Set for a tool call run by a tool node (`tool:<id>`). */
  readonly toolCallId?: string;
}

/**
 * A task's partial output saved by `ctx.partial`, which a retry after a crash
 * reads as `ctx.salvage`.
 *
 * @experimental
 */
export interface SalvageRow {
  readonly checkpointId: string;
  readonly step: number;
  readonly taskId: string;
  readonly node: string;
  readonly value: unknown;
  readonly savedAt: string | null;
  /** The task finished afterwards: the partial output was superseded. */
  readonly taskFinished: boolean;
}

/**
 * An interrupt still waiting at the head: the task that asked and what it asked.
 *
 * @experimental
 */
export interface InterruptRow {
  readonly checkpointId: string;
  readonly taskId: string;
  readonly node: string;
  readonly interrupts: unknown;
}

/**
 * What `GET /api/threads/:id/effects` returns: every recorded effect (oldest
 * step first) and saved partial output of the thread, and the head's
 * interrupts, failed tasks and pending tool calls.
 *
 * @experimental
 */
export interface EffectsLedger {
  readonly effects: readonly EffectRow[];
  readonly salvaged: readonly SalvageRow[];
  /** Interrupts still waiting at the head. */
  readonly interrupts: readonly InterruptRow[];
  /** Tasks of the head that failed. */
  readonly errors: readonly { taskId: string; node: string; error: unknown }[];
  /**
   * Tool calls the model asked for with no result in the state yet, each with
   * its recorded result if its effect already ran (`getState().pendingToolCalls`).
   * Null without the graph: only its channels know where tool calls are.
   */
  readonly pendingToolCalls: readonly unknown[] | null;
}

export async function effectsOf(
  reader: StoreReader,
  threadId: string,
  namespace = "",
): Promise<EffectsLedger> {
  const headers = await reader.headers(threadId, namespace);
  const head = headers[headers.length - 1]!;
  const parents = new Set(headers.map((header) => header.parentId));
  const effects: EffectRow[] = [];
  const salvaged: SalvageRow[] = [];
  const interrupts: InterruptRow[] = [];
  const errors: { taskId: string; node: string; error: unknown }[] = [];
  for (const header of headers) {
    const loaded = await reader.load(threadId, header.id, namespace, parents.has(header.id));
    const nodeOf = new Map(header.next.map((task) => [task.id, task.node]));
    const byTask = new Map<string, PendingWrite[]>();
    for (const write of loaded.pendingWrites) {
      byTask.set(write.taskId, [...(byTask.get(write.taskId) ?? []), write]);
    }
    for (const [taskId, writes] of byTask) {
      const node = nodeOf.get(taskId) ?? "?";
      const origin = writes.find((w) => w.channel === ORIGIN_CHANNEL)?.value;
      const plannedIn = typeof origin === "string" ? origin : header.id;
      const finished = writes.some((w) => w.channel === DONE_CHANNEL);
      for (const write of writes) {
        if (write.channel === EFFECT_CHANNEL || write.channel === EFFECT_RETRY_CHANNEL) {
          const record = write.value as {
            name: string;
            index: number;
            scope?: string;
            ok?: boolean;
            result?: unknown;
            error?: unknown;
            retries?: number;
          };
          const retries = record.retries ?? 0;
          const cleared = write.channel === EFFECT_RETRY_CHANNEL;
          effects.push({
            checkpointId: header.id,
            step: header.step,
            taskId,
            node,
            name: record.name,
            index: record.index,
            ...(record.scope !== undefined ? { scope: record.scope } : {}),
            // A failure recorded after n retries, or cleared for its n-th: the key of retry n.
            idempotencyKey: recordedEffectKey(record, {
              threadId,
              namespace,
              checkpointId: plannedIn,
              taskId,
            }),
            status: cleared ? "cleared for retry" : record.ok ? "recorded" : "failed",
            ...(record.ok ? { result: toJson(record.result) } : {}),
            ...(record.error !== undefined ? { error: toJson(record.error) } : {}),
            retries,
            ...(record.name.startsWith("tool:") ? { toolCallId: record.name.slice(5) } : {}),
          });
        } else if (write.channel === PARTIAL_CHANNEL) {
          const partial = write.value as { value?: unknown; savedAt?: number };
          salvaged.push({
            checkpointId: header.id,
            step: header.step,
            taskId,
            node,
            value: toJson(partial.value),
            savedAt:
              typeof partial.savedAt === "number" ? new Date(partial.savedAt).toISOString() : null,
            taskFinished: finished,
          });
        } else if (
          header === head &&
          write.idx === STATUS_SLOT &&
          write.channel === INTERRUPT_CHANNEL
        ) {
          interrupts.push({
            checkpointId: header.id,
            taskId,
            node,
            interrupts: toJson(write.value),
          });
        } else if (header === head && write.channel === ERROR_CHANNEL) {
          errors.push({ taskId, node, error: toJson(write.value) });
        }
      }
    }
  }
  effects.sort(
    (a, b) =>
      a.step - b.step ||
      a.node.localeCompare(b.node) ||
      a.taskId.localeCompare(b.taskId) ||
      a.index - b.index,
  );
  const { graph } = reader.graphFor(headers);
  const snapshot = graph && namespace === "" ? await graph.getState(threadId) : undefined;
  const pendingToolCalls = snapshot ? snapshot.pendingToolCalls.map((call) => toJson(call)) : null;
  return { effects, salvaged, interrupts, errors, pendingToolCalls };
}
