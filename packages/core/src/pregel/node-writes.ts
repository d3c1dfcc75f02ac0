import type { ChannelWrite } from "@waypoint/checkpoint";
import { Command, END, SENDS_CHANNEL, Send, branchChannel } from "../constants.js";
import { InvalidRouteError, InvalidUpdateError } from "../errors.js";
import type { GraphSpec, RouterResult } from "../graph/graph-spec.js";
import type { ChannelSet } from "./channel-set.js";
import { SubgraphOutput } from "./subgraph-output.js";

/**
 * Turns what a node returned into channel writes: its state update, its
 * static edges, its Command goto, and the targets its conditional edges'
 * routers pick (each router reads the state with this node's writes applied).
 */
export async function writesOf(
  spec: GraphSpec,
  channels: ChannelSet,
  taskId: string,
  node: string,
  result: unknown,
): Promise<ChannelWrite[]> {
  const writes = directWrites(spec, taskId, node, result);
  const branches = spec.branches.get(node) ?? [];
  if (branches.length > 0) {
    const view = channels.valuesWith(writes);
    for (const branch of branches) {
      const picked = await (
        branch.router as (state: unknown) => RouterResult | Promise<RouterResult>
      )(view);
      writes.push(...targetWrites(spec, taskId, node, picked, branch.pathMap));
    }
  }
  return writes;
}

/**
 * `writesOf` without the conditional edges: the state update, the static
 * edges and a Command's goto. Synchronous, for nodes that have no router.
 */
export function directWrites(
  spec: GraphSpec,
  taskId: string,
  node: string,
  result: unknown,
): ChannelWrite[] {
  if (result instanceof SubgraphOutput) {
    const writes = subgraphWrites(spec, taskId, result);
    for (const edge of spec.edgeWrites.get(node) ?? []) writes.push({ taskId, ...edge });
    return writes;
  }
  // `[update, Command]` and the like: each part applied in order, the static edges once.
  const parts = Array.isArray(result) && result.length > 0 ? result : [result];
  const writes: ChannelWrite[] = [];
  const gotos: ChannelWrite[] = [];
  for (const part of parts as unknown[]) {
    const command = part instanceof Command ? part : undefined;
    if (command?.graph !== undefined)
      throw new InvalidUpdateError(
        "(command)",
        [node],
        command.graph !== Command.PARENT
          ? `graph must be Command.PARENT or left out; got ${JSON.stringify(command.graph)}`
          : parts.length > 1
            ? "a Command for the parent graph must be returned alone"
            : "Command.PARENT was returned by a node of the root graph, which has no parent graph",
      );
    if (parts.length > 1 && !command && Array.isArray(part))
      throw new InvalidUpdateError(
        "(state)",
        [node],
        "a list a node returns holds updates (objects) and Commands; got a nested array",
      );
    writes.push(
      ...(command && Array.isArray(command.update)
        ? pairWrites(spec, taskId, node, command.update)
        : stateWrites(spec, taskId, node, command ? command.update : part)),
    );
    if (command?.goto !== undefined) gotos.push(...targetWrites(spec, taskId, node, command.goto));
  }
  for (const edge of spec.edgeWrites.get(node) ?? []) writes.push({ taskId, ...edge });
  writes.push(...gotos);
  return writes;
}

/** `Command({ update: [[key, value], …] })`: one write per pair, in order. */
function pairWrites(
  spec: GraphSpec,
  taskId: string,
  node: string,
  pairs: readonly unknown[],
): ChannelWrite[] {
  return pairs.flatMap((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string")
      throw new InvalidUpdateError(
        "(state)",
        [node],
        `a Command's update list holds [key, value] pairs; got ${JSON.stringify(pair) ?? String(pair)}`,
      );
    return stateWrites(spec, taskId, node, { [pair[0]]: pair[1] as unknown });
  });
}

/**
 * A subgraph's writes become its node's writes: for keys the parent has,
 * every write to a reducer or list channel in order, and the last one to a
 * channel that keeps a single value.
 */
function subgraphWrites(spec: GraphSpec, taskId: string, output: SubgraphOutput): ChannelWrite[] {
  const single = new Set(["lastValue", "ephemeral", "untracked"]);
  const shared = output.writes.filter((write) => spec.stateKeys.includes(write.channel));
  return shared
    .filter((write, index) => {
      if (!single.has(spec.channels.get(write.channel)!.kind)) return true;
      return !shared.slice(index + 1).some((later) => later.channel === write.channel);
    })
    .map((write) => ({ taskId, channel: write.channel, value: write.value }));
}

function stateWrites(
  spec: GraphSpec,
  taskId: string,
  node: string,
  update: unknown,
): ChannelWrite[] {
  if (update === undefined || update === null) return [];
  if (typeof update !== "object" || Array.isArray(update)) {
    throw new InvalidUpdateError(
      "(state)",
      [node],
      `a node must return an object of state updates, a Command, or nothing; got ${Array.isArray(update) ? "an array" : typeof update}`,
    );
  }
  const writes: ChannelWrite[] = [];
  for (const [key, value] of Object.entries(update)) {
    const channel = spec.channels.get(key);
    if (channel === undefined || !spec.stateKeys.includes(key)) {
      throw new InvalidUpdateError(
        key,
        [node],
        `there is no such state key (keys: ${spec.stateKeys.join(", ")})`,
      );
    }
    if (value === undefined) continue;
    let checked: unknown = value;
    if (channel.validate) {
      try {
        checked = channel.validate(value);
      } catch (error) {
        throw new InvalidUpdateError(
          key,
          [node],
          error instanceof Error ? error.message : String(error),
        );
      }
    }
    writes.push({ taskId, channel: key, value: checked });
  }
  return writes;
}

function targetWrites(
  spec: GraphSpec,
  taskId: string,
  from: string,
  picked: RouterResult,
  pathMap?: Readonly<Record<string, string>>,
): ChannelWrite[] {
  const items: readonly (string | Send)[] = Array.isArray(picked)
    ? picked
    : [picked as string | Send];
  const known = [...spec.nodes.keys()];
  const writes: ChannelWrite[] = [];
  for (const item of items) {
    if (item instanceof Send) {
      if (!spec.nodes.has(item.node)) throw new InvalidRouteError(from, item.node, known);
      // Stored as plain data: a Send is not a registered class.
      writes.push({
        taskId,
        channel: SENDS_CHANNEL,
        value: { node: item.node, payload: item.payload },
      });
      continue;
    }
    const target = pathMap ? pathMap[item] : item;
    if (target === undefined) {
      throw new InvalidRouteError(
        from,
        `${item} (not in the path map: ${Object.keys(pathMap ?? {}).join(", ")})`,
        known,
      );
    }
    if (target === END) continue;
    if (!spec.nodes.has(target)) throw new InvalidRouteError(from, target, known);
    writes.push({ taskId, channel: branchChannel(target), value: true });
  }
  return writes;
}
