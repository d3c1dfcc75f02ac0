import { InvalidArgumentError, type Checkpointer } from "@waypoint/checkpoint";
import type { GraphSpec } from "./graph/graph-spec.js";
import { snapshotOf, type StateSnapshot } from "./state-snapshot.js";
import type { StateDefinition } from "./state.js";

const PART = /^(.+):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The spec of the subgraph that runs in `namespace` ("node:taskId", nested
 * levels joined by "|"), found by its nodes' names; "" is the graph itself.
 */
export function specAt(spec: GraphSpec, namespace: string): GraphSpec {
  if (namespace === "") return spec;
  let current = spec;
  for (const part of namespace.split("|")) {
    const node = PART.exec(part)?.[1];
    const subgraph = node === undefined ? undefined : current.nodes.get(node)?.subgraph;
    if (subgraph === undefined)
      throw new InvalidArgumentError(
        "namespace",
        `"${part}" is not the namespace of a subgraph node of this graph (expected "node:taskId", levels joined by "|")`,
        { namespace },
      );
    current = subgraph;
  }
  return current;
}

/**
 * `getState(threadId, { subgraphs: true })`: each task of a subgraph node
 * that has started gets the subgraph's own snapshot (`state`, with its own
 * tasks' subgraphs in turn) and its `namespace`, which getState and
 * getStateHistory take to read the subgraph's history.
 */
export async function withSubgraphStates<D extends StateDefinition>(
  spec: GraphSpec,
  checkpointer: Checkpointer,
  threadId: string,
  namespace: string,
  snapshot: StateSnapshot<D>,
): Promise<StateSnapshot<D>> {
  const tasks = await Promise.all(
    snapshot.tasks.map(async (task) => {
      const subgraph = spec.nodes.get(task.name)?.subgraph;
      if (subgraph === undefined) return task;
      const inner = `${namespace === "" ? "" : `${namespace}|`}${task.name}:${task.id}`;
      const loaded = await checkpointer.get(threadId, { namespace: inner });
      if (loaded === undefined) return task;
      const state = await withSubgraphStates(
        subgraph,
        checkpointer,
        threadId,
        inner,
        snapshotOf<StateDefinition>(subgraph, loaded, { head: true }),
      );
      return { ...task, namespace: inner, state };
    }),
  );
  return { ...snapshot, tasks };
}
