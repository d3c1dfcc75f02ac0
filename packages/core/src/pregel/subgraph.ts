import type { ChannelWrite, Checkpointer } from "@waypoint/checkpoint";
import { Command } from "../constants.js";
import type { GraphSpec, NodeContext } from "../graph/graph-spec.js";
import { GraphInterrupt, type Interrupt } from "./graph-interrupt.js";
import { currentTaskScope, type TaskScope } from "./task-scope.js";
import { RunLoop, Seed } from "./run-loop.js";
import type { StreamEvent, StreamMode } from "./stream-events.js";
import { SubgraphOutput } from "./subgraph-output.js";

/**
 * Runs a compiled graph as one node of a parent graph. It gets its own
 * checkpoint namespace ("node:taskId"), so after an interrupt or a crash it
 * goes on from its own last checkpoint instead of starting over, and it hands
 * back only the writes it made (never the parent's values it was given).
 */
export async function runSubgraph(
  spec: GraphSpec,
  statics: { interruptBefore: ReadonlySet<string>; interruptAfter: ReadonlySet<string> },
  parentState: Record<string, unknown>,
  context: NodeContext,
): Promise<SubgraphOutput> {
  const scope = currentTaskScope();
  if (scope === undefined) throw new Error("a subgraph node ran outside a graph");
  const { checkpointer, persistent, recursionLimit, durability, emit, modes } = scope.runtime;
  const namespace = `${context.namespace === "" ? "" : `${context.namespace}|`}${context.node}:${context.taskId}`;
  const telemetry = scope.runtime.telemetry?.nested(spec.deploy.identity, namespace);
  const loop = await RunLoop.open(spec, checkpointer, {
    telemetry,
    threadId: context.threadId,
    persistent,
    namespace,
    recursionLimit,
    durability,
    signal: context.signal,
    ...statics,
    emit: (event) => emit({ ...event, namespace: event.namespace ?? namespace }),
    modes,
  });
  const seed = () =>
    new Seed(
      Object.fromEntries(
        spec.stateKeys.filter((key) => key in parentState).map((key) => [key, parentState[key]]),
      ),
    );
  const input = loop.started ? continuation(loop, scope) : seed();
  const result = await (telemetry === undefined
    ? loop.run(input)
    : telemetry.run(() => loop.run(input)));
  if (result.interrupts.length > 0) throw new GraphInterrupt(result.interrupts);
  return new SubgraphOutput(
    await writesSinceInput(checkpointer, context.threadId, namespace, spec.stateKeys),
  );
}

/** How a started subgraph goes on: with the answers the parent got for its interrupts, or from where it is. */
function continuation(loop: RunLoop, scope: TaskScope): Command | null {
  const answers = Object.fromEntries(
    loop
      .openInterrupts()
      .filter((i) => Object.hasOwn(scope.resumeValues, i.id))
      .map((i) => [i.id, scope.resumeValues[i.id]]),
  );
  return Object.keys(answers).length > 0 ? new Command({ resume: answers }) : null;
}

/**
 * `await graph.invoke(input)` called inside a running node, on a graph
 * compiled without a checkpointer of its own (LangGraph's way to call a
 * subgraph from a node): it runs in the node's namespace with the parent's
 * checkpointer, as a subgraph node does. Its interrupts pause the parent;
 * when the parent's node runs again, the same call goes on from the
 * subgraph's last checkpoint (a finished one returns its final state).
 * The n-th such call of a task has a namespace of its own.
 */
export async function invokeNested(
  spec: GraphSpec,
  statics: { interruptBefore: ReadonlySet<string>; interruptAfter: ReadonlySet<string> },
  input: unknown,
  scope: TaskScope,
  local: { emit: (event: StreamEvent) => void; modes: ReadonlySet<StreamMode> },
): Promise<{ values: Record<string, unknown>; interrupts: readonly Interrupt[] }> {
  const { checkpointer, persistent, recursionLimit, durability, emit, modes } = scope.runtime;
  const call = scope.subgraphCalls;
  scope.subgraphCalls += 1;
  const namespace = `${scope.namespace === "" ? "" : `${scope.namespace}|`}${scope.node}:${scope.taskId}${call === 0 ? "" : `:${call}`}`;
  const telemetry = scope.runtime.telemetry?.nested(spec.deploy.identity, namespace);
  const loop = await RunLoop.open(spec, checkpointer, {
    telemetry,
    threadId: scope.threadId,
    persistent,
    namespace,
    recursionLimit,
    durability,
    signal: scope.signal,
    ...statics,
    emit: (event) => {
      local.emit(event);
      emit({ ...event, namespace: event.namespace ?? namespace });
    },
    modes: new Set([...modes, ...local.modes]),
  });
  const next = loop.started ? continuation(loop, scope) : input;
  const result = await (telemetry === undefined
    ? loop.run(next)
    : telemetry.run(() => loop.run(next)));
  if (result.interrupts.length > 0) throw new GraphInterrupt(result.interrupts);
  return result;
}

/** The state writes of every checkpoint after the subgraph's input, oldest first. */
async function writesSinceInput(
  checkpointer: Checkpointer,
  threadId: string,
  namespace: string,
  stateKeys: readonly string[],
): Promise<ChannelWrite[]> {
  const ids: string[] = [];
  for await (const header of checkpointer.list(threadId, { namespace })) {
    if (header.metadata.source === "input") break;
    ids.push(header.id);
  }
  const writes: ChannelWrite[] = [];
  for (const checkpointId of ids.reverse()) {
    const loaded = await checkpointer.get(threadId, { namespace, checkpointId });
    writes.push(
      ...(loaded?.checkpoint.writes ?? []).filter((write) => stateKeys.includes(write.channel)),
    );
  }
  return writes;
}
