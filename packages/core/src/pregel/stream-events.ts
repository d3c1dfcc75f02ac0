import type { CheckpointHeader, SerializedError } from "@waypoint/checkpoint";
import type { DebugEvent } from "./debug-events.js";
import type { Interrupt } from "./graph-interrupt.js";

/**
 * What `stream` yields: "values" the whole state after each superstep,
 * "updates" what each node returned, "tasks" each task's start and end,
 * "checkpoints" each saved checkpoint's header, "custom" what nodes pass to
 * `writer`, "messages" model chunks and messages, "debug" LangGraph's debug events.
 */
export type StreamMode =
  "values" | "updates" | "tasks" | "checkpoints" | "custom" | "messages" | "debug";

/**
 * Where a streamed message chunk comes from: the task, and the same under
 * the names LangGraph gives it (which LangChain's tracers see too).
 */
export interface MessageMetadata {
  readonly node: string;
  readonly taskId: string;
  readonly step: number;
  /** The run's namespace: "" for the root graph. */
  readonly namespace: string;
  readonly thread_id: string;
  readonly langgraph_node: string;
  readonly langgraph_step: number;
  /** The channels that triggered the task; empty for a `Send` or a `Command` goto. */
  readonly langgraph_triggers: readonly string[];
  /** ["__pregel_pull", node] for a triggered task, ["__pregel_push", index] for a Send. */
  readonly langgraph_path: readonly (string | number)[];
  /** The task's own namespace ("node:taskId", after its run's): a subgraph it runs uses it. */
  readonly langgraph_checkpoint_ns: string;
  readonly checkpoint_ns: string;
}

/**
 * A `streamMode: "tasks"` event: `start` as a task begins, with its input;
 * `end` as it finishes, with its result, error or interrupts.
 */
export type TaskEvent =
  | {
      readonly event: "start";
      readonly id: string;
      readonly name: string;
      readonly step: number;
      readonly input: unknown;
    }
  | {
      readonly event: "end";
      readonly id: string;
      readonly name: string;
      readonly step: number;
      readonly result?: unknown;
      readonly error?: SerializedError;
      readonly interrupts?: readonly Interrupt[];
    };

export type StreamEvent = (
  | { readonly mode: "values"; readonly data: Record<string, unknown> }
  | { readonly mode: "updates"; readonly data: Record<string, unknown> }
  | { readonly mode: "tasks"; readonly data: TaskEvent }
  | { readonly mode: "checkpoints"; readonly data: CheckpointHeader }
  | { readonly mode: "custom"; readonly data: unknown }
  | { readonly mode: "debug"; readonly data: DebugEvent }
  | {
      readonly mode: "messages";
      readonly data: readonly [chunk: unknown, metadata: MessageMetadata];
    }
) & {
  /** Set on events from a subgraph: "node:taskId", nested levels joined by "|". */
  readonly namespace?: string;
};

/**
 * How `stream` hands out events: the modes asked for (default "values"); one
 * mode yields its payloads, a list `[mode, payload]` pairs; with
 * `subgraphs: true` each item starts with its namespace (a list of
 * "node:taskId" levels, [] for the root graph).
 */
export function streamShape(options: {
  readonly streamMode?: StreamMode | readonly StreamMode[];
  readonly subgraphs?: boolean;
}): { readonly modes: readonly StreamMode[]; item(event: StreamEvent): unknown } {
  const { streamMode, subgraphs } = options;
  const single = typeof streamMode === "string" || streamMode === undefined;
  const modes: readonly StreamMode[] =
    streamMode === undefined
      ? ["values"]
      : typeof streamMode === "string"
        ? [streamMode]
        : streamMode;
  return {
    modes,
    item(event) {
      if (subgraphs !== true) return single ? event.data : [event.mode, event.data];
      const namespace = event.namespace === undefined ? [] : event.namespace.split("|");
      return single ? [namespace, event.data] : [namespace, event.mode, event.data];
    },
  };
}
