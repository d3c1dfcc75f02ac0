import type { CheckpointHeader } from "@waypoint/checkpoint";
import { APPEND_MARKS, storedIdentity } from "@waypoint/core/inspect";
import type { StoreReader } from "./store-reader.js";

/**
 * One checkpoint of a thread, as the timeline shows it.
 *
 * @experimental
 */
export interface TimelineRow {
  readonly id: string;
  readonly parentId: string | null;
  readonly step: number;
  /** `metadata.source`: input, loop, update, fork, migration. */
  readonly source: string | null;
  readonly createdAt: string;
  /** Time since the parent checkpoint: how long the superstep (or the pause before an edit) took. */
  readonly durationMs: number | null;
  /** The superstep's writes, grouped by the node that wrote them and the channel. */
  readonly writes: readonly { node: string; channel: string; count: number }[];
  readonly writeCount: number;
  /** Bytes of the stored record (its writes, header, metadata and snapshot if any). */
  readonly bytes: number | null;
  /** Bytes of the pending writes saved against it (effects, partial outputs, finished tasks). */
  readonly pendingBytes: number;
  readonly snapshot: boolean;
  /** Nodes of the tasks it plans. */
  readonly next: readonly string[];
  /** Fork depth: 0 on the first line of history, one more for each fork off it. */
  readonly depth: number;
  readonly isHead: boolean;
  readonly graphVersion: string | number | null;
}

/**
 * What `GET /api/threads/:id/timeline` returns: the checkpoints of one namespace
 * of a thread, with the head's id and the thread's other namespaces.
 *
 * @experimental
 */
export interface Timeline {
  readonly threadId: string;
  readonly namespace: string;
  readonly headId: string;
  readonly rows: readonly TimelineRow[];
  /** Every namespace the thread has checkpoints in ("" is the root graph). */
  readonly namespaces: readonly string[];
}

export async function timelineOf(
  reader: StoreReader,
  threadId: string,
  namespace = "",
): Promise<Timeline> {
  const headers = await reader.headers(threadId, namespace);
  const exported = await reader.exported(threadId);
  const sizes = new Map<string, { bytes: number; snapshot: boolean }>();
  const pendingBytes = new Map<string, number>();
  const namespaces = new Set<string>([""]);
  for (const record of exported.checkpoints) {
    namespaces.add(record.namespace);
    if (record.namespace !== namespace) continue;
    const bytes =
      Buffer.byteLength(record.writes) +
      Buffer.byteLength(record.header) +
      Buffer.byteLength(record.metadata) +
      (record.snapshot === null ? 0 : Buffer.byteLength(record.snapshot));
    sizes.set(record.id, { bytes, snapshot: record.snapshot !== null });
  }
  for (const write of exported.pendingWrites) {
    if (write.namespace !== namespace) continue;
    const id = write.checkpointId;
    pendingBytes.set(id, (pendingBytes.get(id) ?? 0) + Buffer.byteLength(write.value));
  }

  const byId = new Map(headers.map((header) => [header.id, header]));
  const children = new Map<string | null, CheckpointHeader[]>();
  for (const header of headers) {
    const parent = header.parentId !== null && byId.has(header.parentId) ? header.parentId : null;
    children.set(parent, [...(children.get(parent) ?? []), header]);
  }
  const headId = headers[headers.length - 1]!.id;
  // Depth-first, oldest child first: one straight history reads top to bottom,
  // and each fork follows the history it branched from, one level deeper.
  const ordered: { header: CheckpointHeader; depth: number }[] = [];
  const stack = [...(children.get(null) ?? [])].reverse().map((header) => ({ header, depth: 0 }));
  while (stack.length > 0) {
    const item = stack.pop()!;
    ordered.push(item);
    const kids = children.get(item.header.id) ?? [];
    for (let i = kids.length - 1; i >= 0; i -= 1) {
      stack.push({ header: kids[i]!, depth: item.depth + (i === 0 ? 0 : 1) });
    }
  }

  const rows = await Promise.all(
    ordered.map(async ({ header, depth }) => {
      const settled = children.has(header.id);
      const loaded = await reader.load(threadId, header.id, namespace, settled);
      const parent = header.parentId === null ? undefined : byId.get(header.parentId);
      const nodeOf = new Map(parent?.next.map((task) => [task.id, task.node]) ?? []);
      const source = typeof header.metadata.source === "string" ? header.metadata.source : null;
      const grouped = new Map<string, { node: string; channel: string; count: number }>();
      const writes = loaded.checkpoint.writes.filter((write) => write.channel !== APPEND_MARKS);
      for (const write of writes) {
        const node = nodeOf.get(write.taskId) ?? (source === "input" ? "input" : (source ?? "?"));
        const key = `${node}\u0000${write.channel}`;
        const entry = grouped.get(key) ?? { node, channel: write.channel, count: 0 };
        entry.count += 1;
        grouped.set(key, entry);
      }
      const size = sizes.get(header.id);
      const row: TimelineRow = {
        id: header.id,
        parentId: header.parentId,
        step: header.step,
        source,
        createdAt: header.createdAt.toISOString(),
        durationMs: parent ? header.createdAt.getTime() - parent.createdAt.getTime() : null,
        writes: [...grouped.values()].filter((write) => !write.channel.startsWith("branch:")),
        writeCount: writes.length,
        bytes: size?.bytes ?? null,
        pendingBytes: pendingBytes.get(header.id) ?? 0,
        snapshot: size?.snapshot ?? false,
        next: header.next.map((task) => task.node),
        depth,
        isHead: header.id === headId,
        graphVersion: storedIdentity(header.metadata)?.version ?? null,
      };
      return row;
    }),
  );
  return { threadId, namespace, headId, rows, namespaces: [...namespaces].sort() };
}
