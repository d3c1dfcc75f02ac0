import type { Command } from "commander";
import { createClient } from "@waypoint/core";
import { leaf, positiveInteger, withStore, type CommonOptions } from "../internal/context.js";
import { UsageError, type Io } from "../internal/io.js";

interface PruneOptions extends CommonOptions {
  readonly keep?: number;
  readonly olderThan?: string;
  readonly thread?: string;
  readonly runs?: boolean;
}

const UNITS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** "7d", "12h", "30min", "90s", "2w" → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^([0-9]+)(s|m|min|h|d|w)$/.exec(text);
  if (match === null)
    throw new UsageError(
      `--older-than takes a duration such as 90s, 30m, 12h, 7d or 2w; got ${JSON.stringify(text)}`,
    );
  return Number(match[1]) * UNITS[match[2]!]!;
}

export function registerRetention(program: Command, io: Io): void {
  leaf(program, "prune", "delete old checkpoints (never a head, nor one a kept checkpoint needs)")
    .option("--keep <n>", "keep the newest N checkpoints of each thread", positiveInteger("--keep"))
    .option("--older-than <duration>", "delete checkpoints older than this (7d, 12h, 30m)")
    .option("--thread <thread>", "one thread (default: every thread)")
    .option("--runs", "also delete runs that ended before --older-than")
    .action((options: PruneOptions) => {
      if (options.keep === undefined && options.olderThan === undefined)
        throw new UsageError("prune needs --keep N, --older-than DURATION or both");
      if (options.runs === true && options.olderThan === undefined)
        throw new UsageError("prune --runs needs --older-than DURATION");
      const olderThan =
        options.olderThan === undefined
          ? undefined
          : new Date(Date.now() - parseDuration(options.olderThan));
      return withStore(io, options, async (context) => {
        const { deleted } = await context.store.checkpointer.prune({
          ...(options.keep === undefined ? {} : { keepLast: options.keep }),
          ...(olderThan === undefined ? {} : { olderThan }),
          ...(options.thread === undefined ? {} : { threadId: options.thread }),
        });
        const runs =
          options.runs === true && olderThan !== undefined
            ? (
                await createClient({ checkpointer: context.store.checkpointer }).runs.prune({
                  endedBefore: olderThan,
                })
              ).deleted
            : undefined;
        context.emit(
          { deletedCheckpoints: deleted, ...(runs === undefined ? {} : { deletedRuns: runs }) },
          () =>
            `Deleted ${deleted} checkpoint(s)` +
            (runs === undefined ? "." : ` and ${runs} ended run(s).`),
        );
      });
    });
  leaf(program, "sweep", "delete threads whose TTL has passed (PostgreSQL and Redis)")
    .option(
      "--batch <n>",
      "threads per transaction or script (default 100)",
      positiveInteger("--batch"),
    )
    .action((options: CommonOptions & { readonly batch?: number }) =>
      withStore(io, options, async (context) => {
        const { sweep, kind } = context.store;
        // SQLite keeps no thread TTLs: nothing ever expires there.
        const swept = sweep === undefined ? 0 : await sweep(options.batch);
        context.emit({ swept, ttl: sweep !== undefined }, () =>
          sweep === undefined
            ? `Nothing to sweep: the ${kind} store keeps no thread TTLs.`
            : `Swept ${swept} expired thread(s).`,
        );
      }),
    );
}
