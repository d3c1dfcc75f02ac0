import { isDeepStrictEqual } from "node:util";
import {
  THREAD_STATUSES,
  type JsonValue,
  type ThreadStatus,
  type ThreadSummary,
} from "@waypoint/checkpoint";
import type { Command } from "commander";
import { leaf, positiveInteger, withStore, type CommonOptions } from "../internal/context.js";
import { paintStatus, relativeTime, table } from "../internal/format.js";
import { UsageError, type Io } from "../internal/io.js";

interface ThreadsOptions extends CommonOptions {
  readonly limit?: number;
  readonly after?: string;
  readonly status?: readonly string[];
  readonly metadata?: readonly string[];
}

const collect = (value: string, previous: readonly string[] = []) => [...previous, value];

/** `key=value`: the value as JSON when it parses (3, true, "x"), as a string otherwise. */
export function parseMetadata(pairs: readonly string[]): Record<string, JsonValue> {
  const filter: Record<string, JsonValue> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--metadata takes key=value, got ${JSON.stringify(pair)}`);
    const text = pair.slice(at + 1);
    let value: JsonValue;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch {
      value = text;
    }
    filter[pair.slice(0, at)] = value;
  }
  return filter;
}

function parseStatuses(values: readonly string[]): ThreadStatus[] {
  const statuses = values.flatMap((value) => value.split(","));
  for (const status of statuses) {
    if (!(THREAD_STATUSES as readonly string[]).includes(status))
      throw new UsageError(
        `--status takes ${THREAD_STATUSES.join(", ")}; got ${JSON.stringify(status)}`,
      );
  }
  return statuses as ThreadStatus[];
}

export function registerThreads(program: Command, io: Io): void {
  leaf(program, "threads", "list threads with their status, step and last update (paged)")
    .option(
      "--limit <n>",
      "threads per page (default 20, at most 1000)",
      positiveInteger("--limit"),
    )
    .option("--after <cursor>", "the next page: the cursor the previous page printed")
    .option(
      "--status <status>",
      "only threads in this state: pending, interrupted, finished, failed (repeat or comma-separate)",
      collect,
    )
    .option(
      "--metadata <key=value>",
      "only threads whose head's metadata has key=value (repeat)",
      collect,
    )
    .action((options: ThreadsOptions) =>
      withStore(io, options, async (context) => {
        const limit = options.limit ?? 20;
        const status = options.status === undefined ? undefined : parseStatuses(options.status);
        const filter = parseMetadata(options.metadata ?? []);
        const { checkpointer } = context.store;
        const threads: (ThreadSummary & { metadata: unknown })[] = [];
        let after = options.after;
        let nextCursor: string | null = null;
        // Metadata is the head checkpoint's: listThreads has no metadata filter, so pages are
        // read until `limit` threads match (the cursor is a thread id, as listThreads's own).
        scan: for (;;) {
          const page = await checkpointer.listThreads({
            limit,
            ...(after === undefined ? {} : { after }),
            ...(status === undefined ? {} : { status }),
          });
          for (const thread of page.threads) {
            let metadata: unknown = undefined;
            for await (const head of checkpointer.list(thread.threadId, { limit: 1 }))
              metadata = head.metadata;
            const record = (metadata ?? {}) as Record<string, unknown>;
            if (!Object.entries(filter).every(([k, v]) => isDeepStrictEqual(record[k], v)))
              continue;
            // One more match than fits: there is a next page, after the last one shown.
            if (threads.length === limit) {
              nextCursor = threads[threads.length - 1]!.threadId;
              break scan;
            }
            threads.push({ ...thread, metadata });
          }
          if (page.nextCursor === null) break;
          after = page.nextCursor;
        }
        context.emit({ threads, nextCursor }, () => {
          if (threads.length === 0) return "No threads.";
          const { paint } = context;
          const rows = threads.map((thread) => [
            thread.threadId,
            paintStatus(paint, thread.status),
            String(thread.step),
            relativeTime(thread.updatedAt),
            paint.dim(thread.headId),
          ]);
          const text = table(["THREAD", "STATUS", "STEP", "UPDATED", "HEAD"], rows);
          return nextCursor === null ? text : `${text}\n\nMore: --after ${nextCursor}`;
        });
      }),
    );
}
