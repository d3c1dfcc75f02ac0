import { Command } from "../constants.js";

/**
 * Carries a subgraph node's `Command({ graph: Command.PARENT })` out of the
 * subgraph's run: the subgraph stops without committing that superstep (its
 * pending writes of the step are dropped, as in LangGraph), and the task of
 * the parent graph that ran it ends as if its node had returned the command.
 * Each level catches it once, so a grandchild's command reaches its parent only.
 */
export class ParentCommand extends Error {
  readonly command: Command;
  constructor(command: Command) {
    super("a Command for the parent graph");
    this.name = "ParentCommand";
    const { update, goto } = command;
    this.command = new Command({
      ...(update !== undefined ? { update } : {}),
      ...(goto !== undefined ? { goto } : {}),
    });
  }
}

export function isParentCommand(result: unknown): result is Command {
  return result instanceof Command && result.graph === Command.PARENT;
}
