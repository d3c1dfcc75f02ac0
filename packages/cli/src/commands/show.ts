import type { Command } from "commander";
import { storedIdentity } from "@waypoint/core/inspect";
import { checkpointView, type CheckpointView } from "../internal/checkpoint-view.js";
import { leaf, withStore, type CommonOptions } from "../internal/context.js";
import { paintStatus, preview, relativeTime, table, type Paint } from "../internal/format.js";
import type { Io } from "../internal/io.js";
import { loadCheckpoint, stateOf } from "../internal/load.js";
import type { StateView } from "../internal/state-view.js";

interface ShowOptions extends CommonOptions {
  readonly checkpoint?: string;
}

function section(paint: Paint, title: string, body: string): string {
  return `\n${paint.bold(title)}\n${body}`;
}

function stateText(paint: Paint, state: StateView): string {
  const rows = Object.entries(state.values).map(([key, value]) => [key, preview(value, 100)]);
  for (const [key, entry] of Object.entries(state.unreplayed)) {
    const writes = entry.writes.map((write) => preview(write.value, 30)).join(", ");
    rows.push([
      key,
      `${entry.base === undefined ? "(empty)" : preview(entry.base, 40)} ${paint.dim(`(snapshot; ${entry.kind}) + ${entry.writes.length} write(s) since: ${writes}`)}`,
    ]);
  }
  return rows.length === 0 ? paint.dim("  (empty)") : indent(table(["KEY", "VALUE"], rows));
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");

function viewText(paint: Paint, view: CheckpointView): string {
  let text = "";
  if (view.tasks.length > 0) {
    const rows = view.tasks.map((task) => [
      task.node,
      paintStatus(paint, task.status),
      task.error ? `${task.error.code ?? task.error.name}: ${task.error.message}` : "",
      paint.dim(task.id),
    ]);
    text += section(paint, "Tasks", indent(table(["NODE", "STATUS", "ERROR", "TASK"], rows)));
  }
  if (view.interrupts.length > 0) {
    const rows = view.interrupts.map((i) => [i.node, preview(i.value, 70), paint.dim(i.id)]);
    text += section(
      paint,
      "Pending interrupts",
      indent(table(["NODE", "VALUE", "INTERRUPT"], rows)),
    );
  }
  if (view.effects.length > 0) {
    const rows = view.effects.map((e) => [
      e.node,
      `${e.index}`,
      e.name,
      e.ok ? paint.green("ok") : paint.red("failed"),
      e.ok ? preview(e.result, 40) : `${e.error?.message ?? ""}`,
      paint.dim(e.idempotencyKey),
    ]);
    text += section(
      paint,
      "Effects",
      indent(table(["NODE", "#", "NAME", "STATUS", "RESULT", "IDEMPOTENCY KEY"], rows)),
    );
  }
  if (view.pendingToolCalls.length > 0) {
    const rows = view.pendingToolCalls.map((c) => [
      c.toolCallId,
      c.node,
      c.ok ? preview(c.result, 60) : `failed: ${c.error?.message ?? ""}`,
    ]);
    text += section(
      paint,
      "Pending tool calls (recorded, not yet in the state)",
      indent(table(["TOOL CALL", "NODE", "RECORDED RESULT"], rows)),
    );
  }
  if (view.partials.length > 0) {
    const rows = view.partials.map((p) => [p.node, preview(p.value, 70), p.savedAt ?? ""]);
    text += section(paint, "Partial outputs", indent(table(["NODE", "VALUE", "SAVED"], rows)));
  }
  return text;
}

export function registerShow(program: Command, io: Io): void {
  leaf(program, "show", "a thread's state, plan, tasks, interrupts, effects and tool calls")
    .argument("<thread>", "thread id")
    .option("--checkpoint <id>", "a checkpoint of the thread (default: its head)")
    .action((threadId: string, options: ShowOptions) =>
      withStore(io, options, async (context) => {
        const { checkpointer } = context.store;
        const loaded = await loadCheckpoint(checkpointer, threadId, options.checkpoint);
        const checkpoint = loaded.checkpoint;
        const state = await stateOf(checkpointer, loaded);
        const view = checkpointView(loaded);
        const head = options.checkpoint === undefined;
        const document = {
          threadId,
          checkpointId: checkpoint.id,
          parentId: checkpoint.parentId,
          head,
          step: checkpoint.step,
          createdAt: checkpoint.createdAt,
          graph: checkpoint.metadata.graph ?? null,
          metadata: checkpoint.metadata,
          values: state.values,
          unreplayed: state.unreplayed,
          keysFrom: state.keysFrom,
          ...view,
        };
        context.emit(document, () => {
          const { paint } = context;
          const graph = storedIdentity(checkpoint.metadata);
          const lines = [
            `${paint.bold(`Thread ${threadId}`)}  ${paintStatus(paint, view.status)}`,
            `  checkpoint  ${checkpoint.id}${head ? " (head)" : ""}`,
            `  step        ${checkpoint.step} · ${typeof checkpoint.metadata.source === "string" ? checkpoint.metadata.source : ""} · ${relativeTime(checkpoint.createdAt)}`,
            ...(graph ? [`  graph       ${graph.name} v${String(graph.version)}`] : []),
            `  next        ${view.next.length === 0 ? "(nothing: finished)" : view.next.join(", ")}`,
          ];
          return (
            lines.join("\n") +
            section(paint, "State", stateText(paint, state)) +
            viewText(paint, view)
          );
        });
      }),
    );
}
