import { Command, Send, type Goto } from "@waypoint/core";

/** A tool's Command as plain data, so that its effect record can be stored by any serializer. */
export interface RecordedCommand {
  readonly kind: "command";
  /** Command.PARENT for a Command to the graph that runs this one as a node. */
  readonly graph?: string;
  readonly update?: unknown;
  readonly goto?: readonly RecordedTarget[];
}

type RecordedTarget = string | { readonly send: string; readonly payload: unknown };

export function isCommand(value: unknown): value is Command {
  return value instanceof Command;
}

export function recordCommand(command: Command): RecordedCommand {
  const targets = command.goto === undefined ? undefined : gotoList(command.goto);
  return {
    kind: "command",
    ...(command.graph !== undefined ? { graph: command.graph } : {}),
    ...(command.update !== undefined ? { update: command.update } : {}),
    ...(targets !== undefined
      ? {
          goto: targets.map((target) =>
            target instanceof Send ? { send: target.node, payload: target.payload } : target,
          ),
        }
      : {}),
  };
}

export function isRecordedCommand(value: unknown): value is RecordedCommand {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { kind?: unknown }).kind === "command"
  );
}

function gotoList(goto: Goto): readonly (string | Send)[] {
  return Array.isArray(goto) ? (goto as readonly (string | Send)[]) : [goto as string | Send];
}

/**
 * One node result from the calls' results, in call order: the messages key
 * gets every ToolMessage (those returned as such, and those in a Command's
 * update); other keys take a Command's update as it is, and the gotos add up.
 * A key that several calls write goes as `[key, value]` pairs, in call
 * order: a key with a reducer takes them all, a last-value key refuses them
 * (INVALID_UPDATE), as when a node writes it twice.
 *
 * A Command to the parent graph (a handoff) takes the node's result there:
 * every call's ToolMessages go with it (so that each call of the AI message
 * is answered in the parent), after the conversation so far (`history`), so
 * that the parent sees the AI message that asked for the handoff (LangGraph's
 * handoff tools do this themselves with getCurrentTaskInput); messages the
 * parent has already are replaced in place, by id. The other update keys
 * and gotos of Commands to this graph are dropped, as the subgraph's writes
 * of that step are.
 */
export function combineResults(
  key: string,
  history: readonly unknown[],
  results: readonly unknown[],
): Record<string, unknown> | Command {
  const commands = results.filter(isRecordedCommand);
  for (const command of commands) {
    if (command.graph !== undefined && command.graph !== Command.PARENT)
      throw new Error(
        `a tool's Command names graph ${JSON.stringify(command.graph)}; only Command.PARENT is known`,
      );
  }
  if (commands.length === 0) return { [key]: [...results] };
  const toParent = commands.some((command) => command.graph === Command.PARENT);
  const { messages, update, goto } = merge(key, results, (command) =>
    toParent ? command.graph === Command.PARENT : true,
  );
  if (messages.length > 0) update.push([key, toParent ? [...history, ...messages] : messages]);
  const repeated = new Set(update.map(([name]) => name)).size < update.length;
  return new Command<Record<string, unknown>>({
    ...(toParent ? { graph: Command.PARENT } : {}),
    update: repeated ? update : Object.fromEntries(update),
    ...(goto.length > 0 ? { goto } : {}),
  });
}

/** The messages of every result; the other keys and the gotos of the Commands `applies` picks. */
function merge(
  key: string,
  results: readonly unknown[],
  applies: (command: RecordedCommand) => boolean,
) {
  const messages: unknown[] = [];
  const update: [string, unknown][] = [];
  const goto: (string | Send)[] = [];
  for (const result of results) {
    if (!isRecordedCommand(result)) {
      messages.push(result);
      continue;
    }
    for (const [name, value] of updateEntries(result.update)) {
      if (name === key) {
        messages.push(...(Array.isArray(value) ? (value as unknown[]) : [value]));
      } else if (applies(result)) {
        update.push([name, value]);
      }
    }
    if (!applies(result)) continue;
    for (const target of result.goto ?? [])
      goto.push(typeof target === "string" ? target : new Send(target.send, target.payload));
  }
  return { messages, update, goto };
}

function updateEntries(update: unknown): (readonly [string, unknown])[] {
  if (update === undefined || update === null) return [];
  if (Array.isArray(update)) return update as (readonly [string, unknown])[];
  if (typeof update !== "object") throw new Error("a tool's Command update must be an object");
  return Object.entries(update);
}
