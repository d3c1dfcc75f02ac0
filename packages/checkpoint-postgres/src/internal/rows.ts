import { createHash } from "node:crypto";
import type pg from "pg";
import type { EncodedCheckpoint } from "@waypoint/checkpoint/backend";

/** Row shapes and statement parameters of the PostgreSQL checkpointer. */

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
