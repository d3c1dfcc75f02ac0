import { createHash } from "node:crypto";
import type pg from "pg";
import type { Fence } from "@waypoint/checkpoint";
import type { EncodedCheckpoint, EncodedPendingWrite } from "@waypoint/checkpoint/backend";

/** Row shapes and statement parameters of the PostgreSQL checkpointer. */

/** Rows per page of a paged read: list, listThreads, prune's walk of the namespaces. */
export const PAGE_SIZE = 100;

export interface PendingRow {
  readonly taskId: string;
  readonly idx: number;
  readonly formatVersion: number;
  readonly channel: string;
  readonly value: string;
}

export interface ThreadRow {
  readonly threadId: string;
  readonly headId: string;
  readonly step: number;
  readonly createdAt: number;
  readonly nextCount: number;
  readonly channels: string[];
}

export interface NamespaceRow {
  readonly threadId: string;
  readonly namespace: string;
  readonly headId: string;
}

/**
 * A named statement: each connection parses and plans it once, then reuses
 * the plan. Unnamed, PostgreSQL re-plans the put's CTE on every superstep
 * (measured: more than half the server's time per step).
 */
const names = new Map<string, string>();

export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `wp_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    names.set(text, name);
  }
  return { name, text, values };
}

export function checkpointParams(record: EncodedCheckpoint): unknown[] {
  return [
    record.threadId,
    record.namespace,
    record.id,
    record.parentId,
    record.step,
    record.createdAt,
    record.formatVersion,
    record.baseId,
    record.chainLength,
    record.chainBytes,
    record.snapshotBytes,
    record.nextCount,
    record.metadata,
    record.header,
    record.writes,
    record.snapshot,
  ];
}

/** What a put sends: its record, the head it expects and, under a run's lease, its fence. */
export interface PutParams {
  readonly record: EncodedCheckpoint;
  readonly expectedHeadId: string | null;
  readonly fence: Fence | undefined;
}

/** The arrays of putBatch (one element per put, in order), `fenced` adding run ids and tokens. */
export function batchParams(puts: readonly PutParams[], fenced: boolean): unknown[][] {
  const columns: unknown[][] = Array.from({ length: fenced ? 19 : 17 }, () => []);
  for (const { record, expectedHeadId, fence } of puts) {
    const row = checkpointParams(record);
    row.push(expectedHeadId);
    if (fenced) row.push(fence?.runId ?? null, fence?.token ?? null);
    for (let i = 0; i < columns.length; i += 1) columns[i]!.push(row[i]);
  }
  return columns;
}

/**
 * putPending's parameters: the checkpoint, then one array per column. One row
 * per (task, idx): the last write of a batch wins, as in every backend (an
 * upsert cannot touch a row twice).
 */
export function pendingParams(
  threadId: string,
  namespace: string,
  checkpointId: string,
  writes: readonly EncodedPendingWrite[],
): unknown[] {
  const unique = [...new Map(writes.map((w) => [`${w.taskId}\u0000${w.idx}`, w])).values()];
  return [
    threadId,
    namespace,
    checkpointId,
    unique.map((w) => w.taskId),
    unique.map((w) => w.idx),
    unique.map((w) => w.formatVersion),
    unique.map((w) => w.channel),
    unique.map((w) => w.value),
  ];
}
