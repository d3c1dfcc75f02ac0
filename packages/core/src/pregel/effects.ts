import { NonDeterminismError, TerminalError } from "../errors.js";
import { faultPoint } from "../faults.js";
import type { EffectInfo } from "../graph/graph-spec.js";
import {
  currentTaskScope,
  runInTaskScope,
  type CallFrame,
  type CallKind,
  type RecordedCall,
  type TaskRuntime,
} from "./task-scope.js";
import type { TaskJournal } from "./task-journal.js";
import { effectIdempotencyKey, taskId as taskIdOf } from "./task-id.js";

/** What recorded calls need of the task that makes them (a TaskRunOptions, as it is). */
export interface EffectRunOptions {
  readonly threadId: string;
  readonly namespace: string;
  readonly task: { readonly id: string };
  readonly node: { readonly name: string };
  /** The checkpoint the task was planned in (part of the keys). */
  readonly checkpointId: string;
  readonly journal: TaskJournal;
  /** The run's telemetry rides on it (undefined when no OpenTelemetry SDK is registered). */
  readonly runtime?: Pick<TaskRuntime, "telemetry">;
}

/**
 * Recorded calls for one attempt of a task: each runs at most once per
 * (task, frame, call index), its result recorded before it returns, and a
 * replay (after a crash, an interrupt or a retry) returns what was recorded.
 * A call made inside another call is numbered in that call's frame.
 */
export function recordedCalls(
  options: EffectRunOptions,
  attempt: number,
  signal: AbortSignal,
  top: CallFrame,
): RecordedCall {
  const { journal } = options;
  const taskId = options.task.id;
  const telemetry = options.runtime?.telemetry;
  return async <T>(
    name: string,
    fn: (info: EffectInfo) => T | Promise<T>,
    kind: CallKind = "effect",
  ): Promise<T> => {
    const scope = currentTaskScope();
    // Outside the task's scope (a callback that lost it), calls number in the node's frame.
    const frame = scope?.frame ?? top;
    const index = frame.calls++;
    const path = frame.path;
    const recorded = journal.effect(index, path);
    const keyOf = (retries: number) =>
      effectIdempotencyKey({
        threadId: options.threadId,
        namespace: options.namespace,
        checkpointId: options.checkpointId,
        taskId,
        name,
        index,
        retries,
        ...(path !== undefined ? { scope: path } : {}),
      });
    if (recorded !== undefined) {
      // A task call and an effect of the same name are different calls.
      if (recorded.name !== name || (recorded.kind ?? "effect") !== kind)
        throw new NonDeterminismError(
          options.node.name,
          { index, ...(path !== undefined ? { scope: path } : {}) },
          recorded.name,
          name,
          kind,
          recorded.kind ?? "effect",
        );
      // The key is worked out only for a registered SDK (the call short-circuits otherwise).
      telemetry?.effectReplayed(name, kind, keyOf(journal.retries(index, path)));
      if (recorded.ok) return recorded.result as T;
      throw new TerminalError(recorded.error?.message ?? `${kind} failed`, {
        data: { [kind]: name, recorded: recorded.error },
      });
    }
    // An effect whose recorded TerminalError was cleared for a retry gets a key
    // of its own per retry: the outside system must not answer it from the
    // failed call's cache.
    const retries = journal.retries(index, path);
    const idempotencyKey = keyOf(retries);
    // An effect's key names the checkpoint its task was planned in: with
    // durability "async", wait until that checkpoint is stored, so a crash
    // cannot leave an effect keyed by a checkpoint that never existed.
    await journal.planStored();
    await faultPoint("before-effect");
    const inner = path === undefined ? `${index}` : `${path}.${index}`;
    let result: T;
    try {
      // In a scope of its own: an interrupt() inside the call (a tool asking
      // for approval) gets an id that does not depend on the order in which
      // parallel calls reach it, and calls made inside it number on their own.
      const call = () => fn({ idempotencyKey, attempt, signal });
      const scoped = () =>
        scope === undefined
          ? call()
          : runInTaskScope(
              {
                ...scope,
                idBase: taskIdOf([taskId, "effect", inner]),
                calls: 0,
                frame: { path: inner, calls: 0 },
              },
              call,
            );
      result = await (telemetry === undefined
        ? scoped()
        : telemetry.effect(name, kind, idempotencyKey, async () => scoped()));
    } catch (error) {
      // A TerminalError is an outcome: record it, so a replay fails the same way without calling fn.
      if (error instanceof TerminalError)
        await journal.recordFailure(
          {
            name,
            index,
            ...(path !== undefined ? { scope: path } : {}),
            ...(kind === "task" ? { kind } : {}),
          },
          error,
        );
      throw error;
    }
    await faultPoint("after-effect-before-record");
    await journal.recordEffect({
      name,
      index,
      ...(path !== undefined ? { scope: path } : {}),
      ...(kind === "task" ? { kind } : {}),
      ok: true,
      result,
      ...(retries > 0 ? { retries } : {}),
    });
    await faultPoint("after-record");
    return result;
  };
}
