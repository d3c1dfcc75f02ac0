import { isDeepStrictEqual } from "node:util";
import type { Command } from "commander";
import { leaf, withStore, type CommonOptions } from "../internal/context.js";
import { preview, table } from "../internal/format.js";
import type { Io } from "../internal/io.js";
import { loadCheckpoint, stateOf } from "../internal/load.js";
import type { StateView } from "../internal/state-view.js";

export interface KeyChange {
  readonly key: string;
  readonly change: "added" | "removed" | "changed";
  readonly before?: unknown;
  readonly after?: unknown;
}

/** A key's shown value: exact, or its snapshot and the writes since (see state-view.ts). */
function flatten(state: StateView): Map<string, unknown> {
  return new Map<string, unknown>([
    ...Object.entries(state.values),
    ...Object.entries(state.unreplayed).map(([key, entry]) => [key, entry] as const),
  ]);
}

export function diffStates(a: StateView, b: StateView): KeyChange[] {
  const before = flatten(a);
  const after = flatten(b);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys.flatMap((key): KeyChange[] => {
    if (!before.has(key)) return [{ key, change: "added", after: after.get(key) }];
    if (!after.has(key)) return [{ key, change: "removed", before: before.get(key) }];
    if (isDeepStrictEqual(before.get(key), after.get(key))) return [];
    return [{ key, change: "changed", before: before.get(key), after: after.get(key) }];
  });
}

export function registerDiff(program: Command, io: Io): void {
  leaf(program, "diff", "the state keys that differ between two checkpoints of a thread")
    .argument("<thread>", "thread id")
    .argument("<checkpointA>", "the earlier checkpoint")
    .argument("<checkpointB>", "the later checkpoint")
    .action((threadId: string, a: string, b: string, options: CommonOptions) =>
      withStore(io, options, async (context) => {
        const { checkpointer } = context.store;
        const [left, right] = [
          await loadCheckpoint(checkpointer, threadId, a),
          await loadCheckpoint(checkpointer, threadId, b),
        ];
        const [before, after] = [
          await stateOf(checkpointer, left),
          await stateOf(checkpointer, right),
        ];
        const changes = diffStates(before, after);
        // A key the CLI cannot replay reads as its snapshot value and the writes since.
        const show = (state: StateView, key: string, value: unknown) => {
          const entry = state.unreplayed[key];
          return entry === undefined
            ? preview(value, 50)
            : `${entry.base === undefined ? "(empty)" : preview(entry.base, 20)} + ${entry.writes.length} write(s)`;
        };
        context.emit({ threadId, from: a, to: b, changes }, () => {
          if (changes.length === 0) return "No state key differs.";
          const { paint } = context;
          const mark = {
            added: paint.green("+"),
            removed: paint.red("-"),
            changed: paint.yellow("~"),
          };
          const rows = changes.map((c) => [
            `${mark[c.change]} ${c.key}`,
            c.change === "added" ? "" : show(before, c.key, c.before),
            c.change === "removed" ? "" : show(after, c.key, c.after),
          ]);
          return table(
            ["KEY", `BEFORE (${left.checkpoint.step})`, `AFTER (${right.checkpoint.step})`],
            rows,
          );
        });
      }),
    );
}
