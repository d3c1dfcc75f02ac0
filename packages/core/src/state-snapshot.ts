import {
  ERROR_CHANNEL,
  type ChannelWrite,
  type CheckpointMetadata,
  type LoadedCheckpoint,
  type SerializedError,
} from "@waypoint/checkpoint";
import type { ToolCallRequest } from "./channels/channel.js";
import { EFFECT_CHANNEL, SLOT, toolEffectName } from "./constants.js";
import type { GraphSpec } from "./graph/graph-spec.js";
import { ChannelSet } from "./pregel/channel-set.js";
import { finishedTasks, finishedWrites, pendingOf, updateFromWrites } from "./pregel/edits.js";
import type { Interrupt } from "./pregel/graph-interrupt.js";
import { interruptSlots, taskIsDone, taskWritesFrom } from "./pregel/pending.js";
import { plan } from "./pregel/planner.js";
import type { EffectRecord } from "./pregel/task-journal.js";
import type { StateDefinition, StateOf } from "./state.js";

/**
 * `getState`'s view of one checkpoint: its values (at the head, with what
 * finished tasks already wrote), what runs next, its tasks with their
 * interrupts, errors and results, and pending tool calls.
 */

export interface StateTask {
  readonly id: string;
  readonly name: string;
  readonly triggers: readonly string[];
  readonly interrupts: readonly Interrupt[];
  readonly error?: SerializedError;
  /** Writes the task saved before the superstep ended, if it finished. */
  readonly writes?: readonly ChannelWrite[];
  /**
   * What the task returned, as its state update (`{ key: value }`), once it
   * finished: from its saved writes at the head, from the next checkpoint's
   * writes in history.
   */
  readonly result?: Readonly<Record<string, unknown>>;
  /** As LangGraph reports it: ["__pregel_pull", node] for a triggered task, ["__pregel_push", index] for a Send. */
  readonly path: readonly (string | number)[];
  /** With `getState(…, { subgraphs: true })`, for a subgraph node that started: its checkpoint namespace. */
  readonly namespace?: string;
  /** With `getState(…, { subgraphs: true })`, for a subgraph node that started: the subgraph's own snapshot. */
  readonly state?: StateSnapshot<StateDefinition>;
}

/** A tool call the model asked for that has no result in the state yet. */
export interface PendingToolCall extends ToolCallRequest {
  /** The state key of the conversation it belongs to. */
  readonly channel: string;
  /** Set when its effect already ran and was recorded (the result comes into the state when its superstep commits). */
  readonly recorded?: {
    readonly ok: boolean;
    readonly result?: unknown;
    readonly error?: SerializedError;
  };
}

/** `getState`: a thread's state at one checkpoint, with what comes next. */
export interface StateSnapshot<D extends StateDefinition> {
  /** At the head, with what tasks that already finished wrote (as the superstep will apply it). */
  readonly values: StateOf<D>;
  /**
   * Nodes of the tasks that will run next: at the head, those that have not
   * finished yet (what `invoke(null)` runs, or waits on while they are
   * interrupted).
   */
  readonly next: readonly string[];
  readonly tasks: readonly StateTask[];
  readonly interrupts: readonly Interrupt[];
  /** Tool calls the model asked for without a result yet, with any result already recorded. */
  readonly pendingToolCalls: readonly PendingToolCall[];
  readonly checkpointId: string;
  readonly parentCheckpointId: string | null;
  readonly step: number;
  readonly createdAt: Date;
  readonly metadata: CheckpointMetadata;
}

/** The nodes the commit of a checkpoint's superstep will plan, once `changed` channels moved on. */
function plannedAfter(
  spec: GraphSpec,
  checkpoint: LoadedCheckpoint["checkpoint"],
  channels: ChannelSet,
  changed: readonly string[],
): string[] {
  const versions = { ...checkpoint.channelVersions };
  for (const name of changed) versions[name] = (versions[name] ?? 0) + 1;
  return plan({
    nodes: spec.plannerNodes,
    channels: channels.channels,
    versions,
    versionsSeen: checkpoint.versionsSeen,
    threadId: checkpoint.threadId,
    namespace: checkpoint.namespace,
    checkpointId: checkpoint.id,
  }).tasks.map((task) => task.node);
}

export function snapshotOf<D extends StateDefinition>(
  spec: GraphSpec,
  loaded: LoadedCheckpoint,
  where: { readonly head: boolean; readonly child?: LoadedCheckpoint },
): StateSnapshot<D> {
  const checkpoint = loaded.checkpoint;
  const pending = loaded.pendingWrites;
  const channels = ChannelSet.fromLoaded(spec.channels, spec.stateKeys, loaded, {
    skipUnknown: true,
  });
  // In plan order, like invoke reports them (pending writes come sorted by task id).
  const order = new Map(checkpoint.next.map((task, index) => [task.id, index]));
  const interrupts = interruptSlots(pending)
    .sort((a, b) => (order.get(a.taskId) ?? order.size) - (order.get(b.taskId) ?? order.size))
    .flatMap((slot) => slot.interrupts);
  // A child written by the superstep holds the tasks' writes; an edit's or a fork's does not.
  const ran = where.child?.checkpoint.metadata.source === "loop" ? where.child : undefined;
  const tasks = checkpoint.next.map((task) => {
    const own = pendingOf(task.id, pending);
    const error = own.find((w) => w.idx === SLOT.error && w.channel === ERROR_CHANNEL)?.value as
      SerializedError | undefined;
    const done = taskIsDone(own);
    const saved = done
      ? taskWritesFrom(own)
      : ran?.checkpoint.writes.filter((write) => write.taskId === task.id);
    return {
      id: task.id,
      name: task.node,
      triggers: task.triggers,
      path: task.send ? ["__pregel_push", task.send.index] : ["__pregel_pull", task.node],
      interrupts: interruptSlots(own).flatMap((slot) => slot.interrupts),
      ...(error ? { error } : {}),
      ...(done
        ? { writes: taskWritesFrom(own).filter((w) => spec.stateKeys.includes(w.channel)) }
        : {}),
      ...(saved ? { result: updateFromWrites(saved, spec.stateKeys) } : {}),
    };
  });
  // At the head, what finished tasks wrote is part of the state already (and they will not run again).
  const finished = where.head ? finishedTasks(checkpoint.next, pending) : [];
  let next = checkpoint.next.filter((task) => !finished.includes(task)).map((task) => task.node);
  if (finished.length > 0) {
    try {
      const changed = channels.apply(finishedWrites(checkpoint.next, pending));
      // Every task finished, but the superstep was not committed (a crash in
      // between): what runs next is what its commit will plan.
      if (next.length === 0) next = plannedAfter(spec, checkpoint, channels, changed);
    } catch {
      // Conflicting writes fail the superstep when it commits; until then, show the state without them.
    }
  }
  const values = channels.values();
  const recorded = new Map(
    loaded.pendingWrites
      .filter((write) => write.channel === EFFECT_CHANNEL)
      .map((write) => write.value as EffectRecord)
      .map((record) => [record.name, record]),
  );
  const pendingToolCalls = spec.stateKeys.flatMap((key) => {
    const find = spec.channels.get(key)?.pendingToolCalls;
    if (find === undefined || values[key] === undefined) return [];
    return find(values[key]).map((call) => {
      const record = recorded.get(toolEffectName(call.id));
      const result = record && {
        ok: record.ok,
        ...(record.ok ? { result: record.result } : { error: record.error }),
      };
      return { ...call, channel: key, ...(result ? { recorded: result } : {}) };
    });
  });
  return {
    values: values as StateOf<D>,
    pendingToolCalls,
    next,
    tasks,
    interrupts,
    checkpointId: checkpoint.id,
    parentCheckpointId: checkpoint.parentId,
    step: checkpoint.step,
    createdAt: checkpoint.createdAt,
    metadata: checkpoint.metadata,
  };
}
