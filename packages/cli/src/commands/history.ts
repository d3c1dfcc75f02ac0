import { ThreadNotFoundError, type CheckpointHeader } from "@waypoint/checkpoint";
import type { Command } from "commander";
import { leaf, positiveInteger, withStore, type CommonOptions } from "../internal/context.js";
import { relativeTime, table } from "../internal/format.js";
import type { Io } from "../internal/io.js";

interface HistoryOptions extends CommonOptions {
  readonly limit?: number;
  readonly before?: string;
}

export function registerHistory(program: Command, io: Io): void {
  leaf(program, "history", "a thread's checkpoints, newest first")
    .argument("<thread>", "thread id")
    .option("--limit <n>", "at most this many (default 20)", positiveInteger("--limit"))
    .option("--before <checkpoint>", "only checkpoints older than this one (the next page)")
    .action((threadId: string, options: HistoryOptions) =>
      withStore(io, options, async (context) => {
        const limit = options.limit ?? 20;
        const headers: CheckpointHeader[] = [];
        for await (const header of context.store.checkpointer.list(threadId, {
          limit: limit + 1,
          ...(options.before === undefined ? {} : { before: options.before }),
        }))
          headers.push(header);
        if (headers.length === 0 && options.before === undefined)
          throw new ThreadNotFoundError(threadId);
        const more = headers.length > limit;
        const shown = headers.slice(0, limit);
        const checkpoints = shown.map((header) => ({
          id: header.id,
          parentId: header.parentId,
          step: header.step,
          createdAt: header.createdAt,
          source: header.metadata.source ?? null,
          next: header.next.map((task) => task.node),
          graph: header.metadata.graph ?? null,
          snapshot: header.chain.baseId === header.id,
          deltaBytes: header.chain.deltaBytes,
          metadata: header.metadata,
        }));
        const nextBefore = more ? shown[shown.length - 1]!.id : null;
        context.emit({ threadId, checkpoints, nextBefore }, () => {
          const { paint } = context;
          const rows = checkpoints.map((c) => [
            String(c.step),
            c.id,
            typeof c.source === "string" ? c.source : "",
            c.next.length === 0 ? paint.dim("(end)") : c.next.join(", "),
            relativeTime(c.createdAt),
            c.snapshot ? "snapshot" : paint.dim(`delta ${c.deltaBytes} B`),
          ]);
          const text = table(["STEP", "CHECKPOINT", "SOURCE", "NEXT", "CREATED", "STORED"], rows);
          return nextBefore === null ? text : `${text}\n\nOlder: --before ${nextBefore}`;
        });
      }),
    );
}
