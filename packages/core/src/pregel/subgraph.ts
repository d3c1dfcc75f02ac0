import type { ChannelWrite, Checkpointer } from "@waypoint/checkpoint";
import { Command } from "../constants.js";
import type { GraphSpec, NodeContext } from "../graph/graph-spec.js";
import { GraphInterrupt, currentTaskScope } from "./interrupt.js";
import { RunLoop, Seed } from "./run-loop.js";
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
  const { checkpointer, recursionLimit, durability, emit, modes } = scope.runtime;
  const namespace = `${context.namespace === "" ? "" : `${context.namespace}|`}${context.node}:${context.taskId}`;
  const loop = await RunLoop.open(spec, checkpointer, {
    threadId: context.threadId,
    namespace,
    recursionLimit,
    durability,
    signal: context.signal,
    ...statics,
    emit: (event) => emit({ ...event, namespace: event.namespace ?? namespace }),
    modes,
  });
  let input: unknown;
  if (!loop.started) {
    input = new Seed(
      Object.fromEntries(
        spec.stateKeys.filter((key) => key in parentState).map((key) => [key, parentState[key]]),
      ),
    );
  } else {
    // Answers the parent received for this subgraph's interrupts, if any.
    const answers = Object.fromEntries(
      loop
        .openInterrupts()
        .filter((i) => Object.hasOwn(scope.resumeValues, i.id))
        .map((i) => [i.id, scope.resumeValues[i.id]]),
    );
    input = Object.keys(answers).length > 0 ? new Command({ resume: answers }) : null;
  }
  const result = await loop.run(input);
  if (result.interrupts.length > 0) throw new GraphInterrupt(result.interrupts);
  return new SubgraphOutput(
    await writesSinceInput(checkpointer, context.threadId, namespace, spec.stateKeys),
  );
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
