import type { ChannelWrite, PlannedTask, SerializedError } from "@waypoint/checkpoint";
import type { Interrupt } from "./graph-interrupt.js";

/**
 * `streamMode: "debug"`, shaped as LangGraph's: a `checkpoint` event per
 * checkpoint written, a `task` event as each task starts (with the channels
 * that triggered it) and a `task_result` event as it ends (its writes as
 * `[channel, value]` pairs, or its interrupts, or its error).
 */
export type DebugEvent =
  | {
      readonly type: "checkpoint";
      readonly step: number;
      readonly timestamp: string;
      readonly payload: DebugCheckpoint;
    }
  | {
      readonly type: "task";
      readonly step: number;
      readonly timestamp: string;
      readonly payload: {
        readonly id: string;
        readonly name: string;
        readonly input: unknown;
        readonly triggers: readonly string[];
      };
    }
  | {
      readonly type: "task_result";
      readonly step: number;
      readonly timestamp: string;
      readonly payload: {
        readonly id: string;
        readonly name: string;
        readonly result: readonly (readonly [channel: string, value: unknown])[];
        readonly interrupts: readonly Interrupt[];
        readonly error?: SerializedError;
      };
    };

/** The payload of a debug `checkpoint` event: the checkpoint written, its parent, state and next tasks. */
export interface DebugCheckpoint {
  readonly config: {
    readonly threadId: string;
    readonly namespace: string;
    readonly checkpointId: string;
  };
  readonly parentConfig?: {
    readonly threadId: string;
    readonly namespace: string;
    readonly checkpointId: string;
  };
  readonly values: Record<string, unknown>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly next: readonly string[];
  readonly tasks: readonly {
    readonly id: string;
    readonly name: string;
    readonly triggers: readonly string[];
  }[];
}

const now = () => new Date().toISOString();

export function debugTask(task: PlannedTask, step: number, input: unknown): DebugEvent {
  return {
    type: "task",
    step,
    timestamp: now(),
    payload: { id: task.id, name: task.node, input, triggers: task.triggers },
  };
}

export function debugTaskResult(
  task: PlannedTask,
  step: number,
  outcome: {
    writes?: readonly ChannelWrite[];
    stateKeys?: readonly string[];
    interrupts?: readonly Interrupt[];
    error?: SerializedError;
  },
): DebugEvent {
  const keys = outcome.stateKeys ?? [];
  return {
    type: "task_result",
    step,
    timestamp: now(),
    payload: {
      id: task.id,
      name: task.node,
      result: (outcome.writes ?? [])
        .filter((write) => keys.includes(write.channel))
        .map((write) => [write.channel, write.value] as const),
      interrupts: outcome.interrupts ?? [],
      ...(outcome.error ? { error: outcome.error } : {}),
    },
  };
}

export function debugCheckpoint(
  where: { threadId: string; namespace: string; checkpointId: string; parentId: string | null },
  step: number,
  values: Record<string, unknown>,
  metadata: Readonly<Record<string, unknown>>,
  next: readonly PlannedTask[],
): DebugEvent {
  const { threadId, namespace, checkpointId, parentId } = where;
  return {
    type: "checkpoint",
    step,
    timestamp: now(),
    payload: {
      config: { threadId, namespace, checkpointId },
      ...(parentId !== null
        ? { parentConfig: { threadId, namespace, checkpointId: parentId } }
        : {}),
      values,
      metadata,
      next: next.map((task) => task.node),
      tasks: next.map((task) => ({ id: task.id, name: task.node, triggers: task.triggers })),
    },
  };
}
