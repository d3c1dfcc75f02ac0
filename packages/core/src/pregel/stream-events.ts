import type { CheckpointHeader, SerializedError } from "@waypoint/checkpoint";
import type { DebugEvent } from "./debug-events.js";
import type { Interrupt } from "./interrupt.js";

export type StreamMode =
  "values" | "updates" | "tasks" | "checkpoints" | "custom" | "messages" | "debug";

/** Where a streamed message chunk comes from. */
export interface MessageMetadata {
  readonly node: string;
  readonly taskId: string;
  readonly step: number;
  readonly namespace: string;
}

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
