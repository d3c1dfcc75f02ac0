import type { NodeContext } from "../graph/graph-spec.js";
import type { MessageMetadata } from "./stream-events.js";

/** What a task wrapper is told about the node call it wraps. */
export interface WrappedTask {
  /** The node's input: the state, or a Send's payload. */
  readonly input: unknown;
  readonly context: NodeContext;
  /** The metadata its `ctx.streamMessage` chunks are streamed with. */
  readonly metadata: MessageMetadata;
  /** Whether the run streams "messages": a wrapper may skip work for them otherwise. */
  readonly streamsMessages: boolean;
}

/**
 * Wraps every node call of every graph: it must call `call` once, with the
 * task's context or one derived from it, and return what it returns (a
 * value or a promise, so that a node that returns a value stays free of
 * awaits) or throw what it throws. `@waypoint/langchain` registers one so
 * that LangChain calls inside any node find the node's config.
 */
export type TaskWrapper = (task: WrappedTask, call: (context: NodeContext) => unknown) => unknown;

let wrappers: readonly TaskWrapper[] = [];

/**
 * Adds a wrapper around every node call (once: registering it again does
 * nothing); the first registered is the outermost. Returns its removal.
 */
export function registerTaskWrapper(wrapper: TaskWrapper): () => void {
  if (!wrappers.includes(wrapper)) wrappers = [...wrappers, wrapper];
  return () => {
    wrappers = wrappers.filter((registered) => registered !== wrapper);
  };
}

/** The wrappers registered now; the task runner checks for none before it builds anything. */
export function taskWrappers(): readonly TaskWrapper[] {
  return wrappers;
}

/** Calls `run` inside every wrapper in `list`, the first outermost. */
export function callWrapped(
  list: readonly TaskWrapper[],
  task: Omit<WrappedTask, "context">,
  context: NodeContext,
  run: (context: NodeContext) => unknown,
): unknown {
  const at = (index: number, current: NodeContext): unknown =>
    index === list.length
      ? run(current)
      : list[index]!({ ...task, context: current }, (next) => at(index + 1, next));
  return at(0, context);
}
