import type { EncodedCheckpoint, EncodedHeader } from "@waypoint/checkpoint/backend";

/**
 * How a checkpoint is stored in its namespace's hash. Layout 2 (written since
 * the Redis benchmark work of issue 8) keeps three fields per checkpoint:
 *
 *   h:<id>   the header: its fields joined by NUL (no id field may contain one;
 *            metadata and header are JSON text, where NUL is always escaped):
 *            2, formatVersion, id, parentId ("" = none), baseId ("" = id),
 *            step, createdAt, chainLength, chainBytes, snapshotBytes,
 *            nextCount, metadata, header
 *   p:<id>   the delta (the writes' JSON text), as is
 *   s:<id>   the snapshot's JSON text, only when the checkpoint has one
 *
 * Layout 1 stored the header as a JSON object and `p:<id>` as a JSON envelope
 * `{"writes","snapshot"}`, each text escaped once more. A header starting
 * with "{" is layout 1; both are read, so threads written before keep
 * loading, and a thread may mix them (a layout-1 base with later deltas).
 *
 * Layout 2 sends each part once and unescaped: about 400 B less per put than
 * layout 1, and less for Redis to parse and Node to build.
 */
const LAYOUT = "2";
const SEPARATOR = "\u0000";

/** The stored header (layout 2), as the put script stores it. */
export function encodeRecordHeader(record: EncodedHeader): string {
  return [
    LAYOUT,
    record.formatVersion,
    record.id,
    record.parentId ?? "",
    record.baseId === record.id ? "" : record.baseId,
    record.step,
    record.createdAt,
    record.chainLength,
    record.chainBytes,
    record.snapshotBytes,
    record.nextCount,
    record.metadata,
    record.header,
  ].join(SEPARATOR);
}

/** A stored header of either layout, of the thread and namespace whose hash held it. */
export function decodeRecordHeader(
  text: string,
  threadId: string,
  namespace: string,
): EncodedHeader {
  if (text.startsWith("{")) return { ...(JSON.parse(text) as EncodedHeader), threadId, namespace };
  const f = text.split(SEPARATOR);
  if (f.length !== 13 || f[0] !== LAYOUT) throw new Error(`unknown stored checkpoint layout`);
  const id = f[2]!;
  return {
    formatVersion: Number(f[1]),
    threadId,
    namespace,
    id,
    parentId: f[3] === "" ? null : f[3]!,
    baseId: f[4] === "" ? id : f[4]!,
    step: Number(f[5]),
    createdAt: Number(f[6]),
    chainLength: Number(f[7]),
    chainBytes: Number(f[8]),
    snapshotBytes: Number(f[9]),
    nextCount: Number(f[10]),
    metadata: f[11]!,
    header: f[12]!,
  };
}

/** A whole stored checkpoint of either layout: header, `p:` field and `s:` field ("" = none). */
export function decodeRecord(
  header: string,
  payload: string,
  snapshot: string,
  threadId: string,
  namespace: string,
): EncodedCheckpoint {
  const decoded = decodeRecordHeader(header, threadId, namespace);
  if (header.startsWith("{")) {
    const envelope = JSON.parse(payload) as { writes: string; snapshot: string | null };
    return { ...decoded, writes: envelope.writes, snapshot: envelope.snapshot };
  }
  return { ...decoded, writes: payload, snapshot: snapshot === "" ? null : snapshot };
}
