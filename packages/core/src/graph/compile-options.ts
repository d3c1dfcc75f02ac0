import type { Checkpointer } from "@waypoint/checkpoint";
import type { DeployOptions } from "./graph-identity.js";

/** What `StateGraph.compile()` takes: the checkpointer, static pauses, and the deploy identity. */
export interface CompileOptions extends DeployOptions {
  readonly checkpointer?: Checkpointer;
  /** Pause before these nodes run (`"*"`: every node); `invoke(null, { threadId })` goes on. */
  readonly interruptBefore?: readonly string[] | "*";
  /** Pause after these nodes' superstep is saved (`"*"`: every node). */
  readonly interruptAfter?: readonly string[] | "*";
}
