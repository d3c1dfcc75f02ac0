import { CheckpointerRequiredError } from "../errors.js";
import { GraphInterrupt } from "./graph-interrupt.js";
import { currentTaskScope } from "./task-scope.js";
import { taskId } from "./task-id.js";

/**
 * Pauses the run for a human. The first time, it stops the node and the
 * run reports the interrupt; after `invoke(new Command({ resume }))`, the
 * node runs again from its first line and this call returns the resume value.
 */
export function interrupt<Resume = unknown>(value: unknown): Resume {
  const current = currentTaskScope();
  if (current === undefined) throw new Error("interrupt() was called outside a running node");
  if (!current.runtime.persistent) throw new CheckpointerRequiredError("interrupt()");
  const id = taskId([current.idBase ?? current.taskId, "interrupt", current.calls]);
  current.calls += 1;
  if (Object.hasOwn(current.resumeValues, id)) return current.resumeValues[id] as Resume;
  throw new GraphInterrupt([
    {
      id,
      value,
      node: current.node,
      taskId: current.taskId,
      namespace: current.namespace,
      kind: "dynamic",
    },
  ]);
}
