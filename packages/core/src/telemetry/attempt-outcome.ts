import { GraphInterrupt } from "../pregel/graph-interrupt.js";
import { ParentCommand } from "../pregel/parent-command.js";

/**
 * What a node attempt's throw means for its span: an `interrupt()` pause
 * and a Command handed to the parent graph are outcomes, not errors.
 */
export function attemptOutcome(error: unknown): "interrupt" | "handover" | "error" {
  if (error instanceof GraphInterrupt) return "interrupt";
  if (error instanceof ParentCommand) return "handover";
  return "error";
}
