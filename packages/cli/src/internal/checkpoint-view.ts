import {
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
  type Checkpoint,
  type LoadedCheckpoint,
  type PendingWrite,
  type SerializedError,
  type ThreadStatus,
} from "@waypoint/checkpoint";
import { deriveThreadStatus } from "@waypoint/checkpoint/backend";
import { RUNTIME_CHANNELS, recordedEffectKey, type EffectRecord } from "@waypoint/core";

/**
 * What a checkpoint's pending writes say, decoded without the graph: the
 * runtime's reserved channels (packages/core/src/constants.ts) and slots.
 */
const {
  done: DONE_CHANNEL,
  effect: EFFECT_CHANNEL,
  partial: PARTIAL_CHANNEL,
  origin: ORIGIN_CHANNEL,
} = RUNTIME_CHANNELS;
const TOOL_EFFECT_PREFIX = "tool:";

export interface EffectView {
  readonly taskId: string;
  readonly node: string;
  readonly name: string;
  readonly index: number;
  /** For a call made inside a recorded call (a task's effect): that call's path ("2", "2.0"). */
  readonly scope?: string;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: SerializedError;
  readonly retries?: number;
  /**
   * The key the effect's function was given: stored with the record when the
   * runtime stores it, otherwise derived as the runtime derives it (thread,
   * namespace, the checkpoint the task was planned in, task, name, index).
   */
  readonly idempotencyKey: string;
}

export interface InterruptView {
  readonly id: string;
  readonly taskId: string;
  readonly node: string;
  readonly value: unknown;
  readonly kind: string;
}

export interface PartialView {
  readonly taskId: string;
  readonly node: string;
  readonly value: unknown;
  readonly savedAt: string | null;
}

export interface TaskView {
  readonly id: string;
  readonly node: string;
  readonly triggers: readonly string[];
  readonly send?: unknown;
  /** planned: not started or in flight; done: its writes are saved; interrupted; failed. */
  readonly status: "planned" | "done" | "interrupted" | "failed";
  /** What a finished task wrote (applied when the superstep commits). */
  readonly writes: readonly { readonly channel: string; readonly value: unknown }[];
  readonly error?: SerializedError;
}

/** A tool call (an effect named `tool:<id>`) recorded by a task whose superstep has not committed. */
export interface ToolCallView {
  readonly toolCallId: string;
  readonly taskId: string;
  readonly node: string;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: SerializedError;
}

export interface CheckpointView {
  readonly status: ThreadStatus;
  readonly next: readonly string[];
  readonly tasks: readonly TaskView[];
  readonly interrupts: readonly InterruptView[];
  readonly effects: readonly EffectView[];
  readonly pendingToolCalls: readonly ToolCallView[];
  readonly partials: readonly PartialView[];
}

/** A recorded effect as stored; `key` is read if a later runtime stores the key itself. */
type StoredEffect = EffectRecord & { readonly key?: string };

function effectKey(checkpoint: Checkpoint, plannedIn: string, taskId: string, e: StoredEffect) {
  if (typeof e.key === "string") return e.key;
  return recordedEffectKey(e, {
    threadId: checkpoint.threadId,
    namespace: checkpoint.namespace,
    checkpointId: plannedIn,
    taskId,
  });
}

function byTask(pending: readonly PendingWrite[]): Map<string, PendingWrite[]> {
  const tasks = new Map<string, PendingWrite[]>();
  for (const write of pending) {
    const list = tasks.get(write.taskId) ?? [];
    list.push(write);
    tasks.set(write.taskId, list);
  }
  return tasks;
}

export function checkpointView(loaded: LoadedCheckpoint): CheckpointView {
  const checkpoint = loaded.checkpoint;
  const pending = byTask(loaded.pendingWrites);
  const nodeOf = new Map(checkpoint.next.map((task) => [task.id, task.node]));
  const tasks: TaskView[] = [];
  const interrupts: InterruptView[] = [];
  const effects: EffectView[] = [];
  const partials: PartialView[] = [];
  const pendingToolCalls: ToolCallView[] = [];
  for (const task of checkpoint.next) {
    const own = pending.get(task.id) ?? [];
    const done = own.some((write) => write.channel === DONE_CHANNEL);
    const error = own.find((write) => write.channel === ERROR_CHANNEL)?.value as
      SerializedError | undefined;
    const open = own.find((write) => write.channel === INTERRUPT_CHANNEL);
    const answered = own.some((write) => write.channel === RESUME_CHANNEL);
    const plannedIn =
      (own.find((write) => write.channel === ORIGIN_CHANNEL)?.value as string | undefined) ??
      checkpoint.id;
    for (const slot of Array.isArray(open?.value) ? (open.value as InterruptView[]) : []) {
      interrupts.push({
        id: slot.id,
        taskId: slot.taskId,
        node: slot.node,
        value: slot.value,
        kind: slot.kind,
      });
    }
    const recorded = own
      .filter((write) => write.channel === EFFECT_CHANNEL)
      .map((write) => write.value as StoredEffect)
      // The node's own calls first, then each recorded call's inner ones, in call order.
      .sort((a, b) =>
        (a.scope ?? "") === (b.scope ?? "")
          ? a.index - b.index
          : (a.scope ?? "") < (b.scope ?? "")
            ? -1
            : 1,
      );
    for (const effect of recorded) {
      const view: EffectView = {
        taskId: task.id,
        node: task.node,
        name: effect.name,
        index: effect.index,
        ...(effect.scope === undefined ? {} : { scope: effect.scope }),
        ok: effect.ok,
        ...(effect.ok ? { result: effect.result } : { error: effect.error }),
        ...(effect.retries === undefined ? {} : { retries: effect.retries }),
        idempotencyKey: effectKey(checkpoint, plannedIn, task.id, effect),
      };
      effects.push(view);
      if (effect.name.startsWith(TOOL_EFFECT_PREFIX) && !done) {
        pendingToolCalls.push({
          toolCallId: effect.name.slice(TOOL_EFFECT_PREFIX.length),
          taskId: task.id,
          node: task.node,
          ok: effect.ok,
          ...(effect.ok ? { result: effect.result } : { error: effect.error }),
        });
      }
    }
    const partial = own.find((write) => write.channel === PARTIAL_CHANNEL)?.value as
      { value: unknown; savedAt?: number } | undefined;
    if (partial !== undefined) {
      partials.push({
        taskId: task.id,
        node: task.node,
        value: partial.value,
        savedAt:
          typeof partial.savedAt === "number" ? new Date(partial.savedAt).toISOString() : null,
      });
    }
    tasks.push({
      id: task.id,
      node: nodeOf.get(task.id) ?? task.node,
      triggers: task.triggers,
      ...(task.send === undefined ? {} : { send: task.send.payload }),
      status: error ? "failed" : open && !answered ? "interrupted" : done ? "done" : "planned",
      writes: own
        .filter((write) => write.idx >= 0 && write.channel !== DONE_CHANNEL)
        .sort((a, b) => a.idx - b.idx)
        .map(({ channel, value }) => ({ channel, value })),
      ...(error ? { error } : {}),
    });
  }
  return {
    status: deriveThreadStatus(
      checkpoint.next.length,
      loaded.pendingWrites.map((write) => write.channel),
    ),
    next: tasks.filter((task) => task.status !== "done").map((task) => task.node),
    tasks,
    interrupts,
    effects,
    pendingToolCalls,
    partials,
  };
}
