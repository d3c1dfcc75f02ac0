import type { ChannelVersions, PlannedTask } from "@waypoint/checkpoint";
import type { Channel } from "../channels/channel.js";
import { SENDS_CHANNEL, type Send } from "../constants.js";
import { PART_SEPARATOR, taskIdOfKey } from "./task-id.js";

/** What the planner needs to know about a node. */
export interface PlannerNode {
  readonly name: string;
  /** Channels whose update runs the node (its incoming edges and joins). */
  readonly triggers: readonly string[];
  /** Runs only in a superstep that would otherwise have no task (`addNode(…, { defer: true })`). */
  readonly defer?: boolean;
}

export interface PlanInput {
  readonly nodes: readonly PlannerNode[];
  readonly channels: ReadonlyMap<string, Channel>;
  readonly versions: ChannelVersions;
  readonly versionsSeen: Readonly<Record<string, ChannelVersions>>;
  readonly threadId: string;
  readonly namespace: string;
  readonly checkpointId: string;
}

export interface Plan {
  readonly tasks: PlannedTask[];
  /** versionsSeen with the planned tasks' triggers marked as seen. */
  readonly versionsSeen: Record<string, ChannelVersions>;
}

/**
 * The next superstep's tasks, computed from channel versions alone: no I/O,
 * no clock, no randomness. A node runs when one of its trigger channels holds
 * a value it has not seen yet; each `Send` written in the last superstep runs
 * its node once with its payload. Nodes come in declaration order, then sends
 * in the order they were written, and writes are later applied in this order.
 */
export function plan(input: PlanInput): Plan {
  const { versions } = input;
  const versionsSeen: Record<string, ChannelVersions> = { ...input.versionsSeen };
  const tasks: PlannedTask[] = [];
  // Every task id of this plan starts with the same parts: joined once.
  const prefix = [input.threadId, input.namespace, input.checkpointId, ""].join(PART_SEPARATOR);
  // Deferred nodes that fired: planned only if nothing else is.
  let deferred: { node: PlannerNode; fired: string[] }[] | undefined;
  for (const node of input.nodes) {
    const seen = versionsSeen[node.name];
    // Built only for a node that runs: most nodes of a graph do not, at any one step.
    let fired: string[] | undefined;
    for (const channel of node.triggers) {
      const version = versions[channel];
      if (
        version !== undefined &&
        version > (seen?.[channel] ?? 0) &&
        input.channels.get(channel)?.isAvailable() === true
      )
        (fired ??= []).push(channel);
    }
    if (fired === undefined) continue;
    if (node.defer === true) (deferred ??= []).push({ node, fired });
    else addTask(tasks, versionsSeen, versions, prefix, node, fired);
  }
  const sends = input.channels.get(SENDS_CHANNEL);
  if (sends?.isAvailable()) {
    (sends.get() as Send[]).forEach((send, index) => {
      tasks.push({
        id: taskIdOfKey(
          `${prefix}${send.node}${PART_SEPARATOR}send${PART_SEPARATOR}${String(index)}`,
        ),
        node: send.node,
        triggers: [],
        send: { index, payload: send.payload },
      });
    });
  }
  // Held back, a deferred node's triggers stay unseen (and set), so it fires again next time.
  if (tasks.length === 0 && deferred !== undefined)
    for (const { node, fired } of deferred)
      addTask(tasks, versionsSeen, versions, prefix, node, fired);
  return { tasks, versionsSeen };
}

/** Plans `node` for the channels that fired it, and marks their versions as seen by it. */
function addTask(
  tasks: PlannedTask[],
  versionsSeen: Record<string, ChannelVersions>,
  versions: ChannelVersions,
  prefix: string,
  node: PlannerNode,
  fired: string[],
): void {
  // The id's parts: thread, namespace, checkpoint, node, then the channels that fired it.
  tasks.push({
    id: taskIdOfKey(`${prefix}${node.name}${PART_SEPARATOR}${fired.join(PART_SEPARATOR)}`),
    node: node.name,
    triggers: fired,
  });
  const marked: Record<string, number> = { ...versionsSeen[node.name] };
  for (const channel of fired) marked[channel] = versions[channel] ?? 0;
  versionsSeen[node.name] = marked;
}
