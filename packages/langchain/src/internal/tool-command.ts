import { Command, Send, type Goto } from "@waypoint/core";

/*
 * LangChain's tools hand back an output marked `lc_direct_tool_output` as it
 * is, and wrap anything else in a ToolMessage (a Command would reach the model
 * as its JSON). LangGraph's Command carries the mark; core's does not yet, so
 * it is set here, once, on the prototype (not an own field: a Command's own
 * fields are its options).
 */
if (!("lc_direct_tool_output" in Command.prototype)) {
  Object.defineProperty(Command.prototype, "lc_direct_tool_output", { value: true });
}

/** A tool's Command as plain data, so that its effect record can be stored by any serializer. */
export interface RecordedCommand {
  readonly kind: "command";
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
 * Two calls that write the same other key are an error: which one should win
 * is the tools' author's choice, not the node's.
 */
export function combineResults(
  key: string,
  results: readonly unknown[],
): Record<string, unknown> | Command {
  const messages: unknown[] = [];
  const update: Record<string, unknown> = {};
  const goto: (string | Send)[] = [];
  let commands = 0;
  for (const result of results) {
    if (!isRecordedCommand(result)) {
      messages.push(result);
      continue;
    }
    commands += 1;
    for (const [name, value] of updateEntries(result.update)) {
      if (name === key) {
        messages.push(...(Array.isArray(value) ? (value as unknown[]) : [value]));
      } else if (Object.hasOwn(update, name)) {
        throw new Error(
          `two tool calls returned a Command that updates "${name}"; only the messages key may be updated by several`,
        );
      } else {
        update[name] = value;
      }
    }
    for (const target of result.goto ?? [])
      goto.push(typeof target === "string" ? target : new Send(target.send, target.payload));
  }
  if (commands === 0) return { [key]: messages };
  return new Command({
    update: messages.length > 0 ? { ...update, [key]: messages } : update,
    ...(goto.length > 0 ? { goto } : {}),
  });
}

function updateEntries(update: unknown): [string, unknown][] {
  if (update === undefined || update === null) return [];
  if (Array.isArray(update)) return update as [string, unknown][];
  if (typeof update !== "object") throw new Error("a tool's Command update must be an object");
  return Object.entries(update);
}
