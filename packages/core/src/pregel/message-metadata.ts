import type { PlannedTask } from "@waypoint/checkpoint";
import type { MessageMetadata, StreamEvent } from "./stream-events.js";

/** As LangGraph names a task: ["__pregel_pull", node] when triggered, ["__pregel_push", index] for a Send. */
export function taskPath(task: PlannedTask): readonly (string | number)[] {
  return task.send ? ["__pregel_push", task.send.index] : ["__pregel_pull", task.node];
}

/**
 * The metadata of a task's streamed messages. `langgraph_checkpoint_ns` is
 * the namespace a subgraph run by the task gets (see subgraph.ts), as
 * LangGraph's is its task's checkpoint namespace.
 */
export function messageMetadata(
  task: PlannedTask,
  step: number,
  where: { readonly namespace: string; readonly threadId: string },
): MessageMetadata {
  const taskNamespace = `${where.namespace === "" ? "" : `${where.namespace}|`}${task.node}:${task.id}`;
  return {
    node: task.node,
    taskId: task.id,
    step,
    namespace: where.namespace,
    thread_id: where.threadId,
    langgraph_node: task.node,
    langgraph_step: step,
    langgraph_triggers: task.triggers,
    langgraph_path: taskPath(task),
    langgraph_checkpoint_ns: taskNamespace,
    checkpoint_ns: taskNamespace,
  };
}

/** A task's `ctx.streamMessage` when its run streams messages; the metadata is built once. */
export function messageStream(
  task: PlannedTask,
  step: number,
  run: {
    readonly namespace: string;
    readonly threadId: string;
    readonly emit: (event: StreamEvent) => void;
  },
): (chunk: unknown) => void {
  let metadata: MessageMetadata | undefined;
  return (chunk) => {
    metadata ??= messageMetadata(task, step, run);
    run.emit({ mode: "messages", data: [chunk, metadata] });
  };
}

/** `ctx.streamMessage` when the run does not stream messages. */
export const ignoreChunk = (_chunk: unknown): void => undefined;
