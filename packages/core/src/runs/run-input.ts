import type { Checkpointer, RunRecord, RunStore } from "@waypoint/checkpoint";
import { Command } from "../constants.js";
import type { InvokeOptions } from "../compiled-graph.js";
import type { GraphIdentity, GraphVersion } from "../graph/graph-identity.js";

/**
 * A run's input as stored: the serializer keeps plain data and registered
 * classes, so a resume Command is stored as its fields and rebuilt here.
 */
type StoredInput =
  | { readonly kind: "value"; readonly value: unknown }
  | {
      readonly kind: "command";
      readonly update?: unknown;
      readonly goto?: unknown;
      readonly resume?: unknown;
    };

export function encodeRunInput(input: unknown): StoredInput {
  if (!(input instanceof Command)) return { kind: "value", value: input };
  return {
    kind: "command",
    ...(input.update !== undefined ? { update: input.update } : {}),
    ...(input.goto !== undefined ? { goto: input.goto } : {}),
    ...("resume" in input ? { resume: input.resume } : {}),
  };
}

export function decodeRunInput(stored: unknown): unknown {
  const input = stored as StoredInput;
  if (input.kind === "value") return input.value;
  return new Command(input as ConstructorParameters<typeof Command>[0]);
}

/** A run as users see it: its input decoded. */
export function userRun(run: RunRecord): RunRecord {
  return { ...run, input: decodeRunInput(run.input) };
}

/** The part of a compiled graph a worker and the client use. */
export interface RunnableGraph {
  readonly checkpointer: Checkpointer;
  /** The graph's name, version and fingerprint, as its checkpoints record them. */
  readonly identity?: GraphIdentity;
  /** Whether a thread written by `version` was written by a newer version than this graph's. */
  isNewerVersion?(version: GraphVersion): boolean;
  /** Runs the graph on a claimed run's thread (with its fence, stop signal and metadata). */
  invoke(input: unknown, options: InvokeOptions): Promise<unknown>;
  /** The thread's state, at its head or at `checkpointId`. */
  getState(
    threadId: string,
    options?: { checkpointId?: string },
  ): Promise<{ readonly next: readonly string[]; readonly values: unknown } | undefined>;
  /** Moves the thread's head to `checkpointId` (a worker undoes a rolled-back run this way). */
  updateState(threadId: string, values: never, options: { checkpointId?: string }): Promise<string>;
}

export function runStoreOf(checkpointer: Checkpointer): RunStore {
  if (checkpointer.runs === undefined) {
    throw new TypeError(
      "This checkpointer has no run queue (checkpointer.runs). Every built-in backend has one: " +
        "MemoryCheckpointer, SqliteCheckpointer, PostgresCheckpointer, RedisCheckpointer.",
    );
  }
  return checkpointer.runs;
}
