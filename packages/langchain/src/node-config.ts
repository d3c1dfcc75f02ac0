import { AsyncLocalStorage } from "node:async_hooks";
import type { RunnableConfig } from "@langchain/core/runnables";
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { registerTaskWrapper, type NodeContext, type WrappedTask } from "@waypoint/core";
import { StreamMessagesHandler } from "./stream-messages-handler.js";

// Nested runnables find their parent's config (callbacks, signal, metadata) in
// LangChain's async local storage; it is a no-op until given one, as
// LangGraph does at import. A storage set already (by LangGraph) is kept.
AsyncLocalStorageProviderSingleton.initializeGlobalInstance(new AsyncLocalStorage());

/** The config each node call runs with, by the context the node was given. */
const configs = new WeakMap<NodeContext, RunnableConfig>();

/**
 * Every node call of every graph, once this package is imported, runs with
 * its LangChain config in LangChain's async context, as LangGraph's nodes
 * do: a chat model called anywhere inside it, without a config, gets the
 * node's signal and LangGraph's metadata names; and when the run streams
 * "messages", its tokens (or whole messages) are reported, then the
 * messages the node wrote that no model call reported.
 *
 * The config is set in every run, not only when it streams messages: a
 * model call must stop when its node is cancelled or times out. That costs
 * LangChain's runWithConfig per task (about 30 µs: it builds a RunTree),
 * little beside a model call, but graphs of cheap nodes feel it once this
 * package is imported (a chain of trivial nodes: about 0.05 → 0.12 ms/step).
 */
function wrapTask(task: WrappedTask, call: (context: NodeContext) => unknown): unknown {
  const metadata = langGraphMetadata(task.metadata);
  if (!task.streamsMessages) {
    // No handler: it would make every model stream, for chunks nobody reads.
    const config: RunnableConfig = { signal: task.context.signal, metadata };
    configs.set(task.context, config);
    return AsyncLocalStorageProviderSingleton.runWithConfig(config, () => call(task.context));
  }
  return callReporting(task.context, task.input, metadata, call);
}

registerTaskWrapper(wrapTask);

/** Calls the node with a handler for its messages, then reports the messages it returned. */
function callReporting(
  ctx: NodeContext,
  input: unknown,
  metadata: Record<string, unknown>,
  call: (context: NodeContext) => unknown,
): unknown {
  const handler = new StreamMessagesHandler(ctx, enclosingHandler());
  handler.seeInput(input);
  // Chunks the node reports itself (chatModelNode) are known to the handler.
  const context: NodeContext = { ...ctx, streamMessage: (chunk) => handler.streamMessage(chunk) };
  const config: RunnableConfig = { callbacks: [handler], signal: ctx.signal, metadata };
  configs.set(context, config);
  const result = AsyncLocalStorageProviderSingleton.runWithConfig(config, () => call(context));
  if (!isPromiseLike(result)) {
    handler.reportOutput(result);
    return result;
  }
  return Promise.resolve(result).then((output: unknown) => {
    handler.reportOutput(output);
    return output;
  });
}

/** The handler of the node this call runs in (a subgraph's node runs in its parent's node). */
function enclosingHandler(): StreamMessagesHandler | undefined {
  const callbacks = (
    AsyncLocalStorageProviderSingleton.getRunnableConfig() as RunnableConfig | undefined
  )?.callbacks;
  if (!Array.isArray(callbacks)) return undefined;
  return callbacks.find(
    (callback): callback is StreamMessagesHandler => callback instanceof StreamMessagesHandler,
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** The metadata LangChain's runs get: LangGraph's names (the stream's own names stay in the stream). */
function langGraphMetadata(metadata: WrappedTask["metadata"]): Record<string, unknown> {
  return {
    thread_id: metadata.thread_id,
    langgraph_node: metadata.langgraph_node,
    langgraph_step: metadata.langgraph_step,
    langgraph_triggers: metadata.langgraph_triggers,
    langgraph_path: metadata.langgraph_path,
    langgraph_checkpoint_ns: metadata.langgraph_checkpoint_ns,
    checkpoint_ns: metadata.checkpoint_ns,
  };
}

/** The parts of a node's context that `runnableConfig` reads. */
export type ConfigContext = Pick<
  NodeContext,
  "streamMessage" | "signal" | "node" | "step" | "namespace" | "threadId" | "taskId"
>;

/** For a context no graph run made (a node called by hand): what can be told from it. */
function metadataOf(ctx: ConfigContext): Record<string, unknown> {
  const taskNamespace = `${ctx.namespace === "" ? "" : `${ctx.namespace}|`}${ctx.node}:${ctx.taskId}`;
  return {
    thread_id: ctx.threadId,
    langgraph_node: ctx.node,
    langgraph_step: ctx.step,
    langgraph_checkpoint_ns: taskNamespace,
    checkpoint_ns: taskNamespace,
  };
}

/**
 * The LangChain config of the node's calls, which every call inside a node
 * gets without it: passing it explicitly is only needed where a config is
 * passed already (merge it in) or for a context no graph run made.
 */
export function runnableConfig(ctx: ConfigContext): RunnableConfig {
  const config = configs.get(ctx as NodeContext);
  if (config !== undefined) return config;
  return {
    callbacks: [new StreamMessagesHandler(ctx)],
    signal: ctx.signal,
    metadata: metadataOf(ctx),
  };
}

/**
 * Kept for graphs written before every node got this by itself: in a graph
 * run it calls the node as it is; called with a context no graph run made,
 * it runs the node with `runnableConfig(ctx)` and reports its messages.
 */
export function langchainNode<State, Result>(
  node: (state: State, ctx: NodeContext) => Result | Promise<Result>,
): (state: State, ctx: NodeContext) => Promise<Result> {
  return async (state, ctx) => {
    if (configs.has(ctx)) return node(state, ctx);
    return (await callReporting(ctx, state, metadataOf(ctx), (context) =>
      node(state, context),
    )) as Result;
  };
}
