import { CorruptRecordError } from "@waypoint/checkpoint";
import type {
  EncodedCheckpoint,
  EncodedHeader,
  EncodedLink,
  EncodedPendingWrite,
} from "@waypoint/checkpoint/backend";

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

/** How errors name a stored checkpoint: its id, thread and (unless the root) namespace. */
export function recordLabel(threadId: string, namespace: string, id: string): string {
  const where = `checkpoint ${id} of thread ${JSON.stringify(threadId)}`;
  return namespace === "" ? where : `${where}, namespace ${JSON.stringify(namespace)}`;
}

/**
 * A stored header of either layout, of the thread and namespace whose hash
 * held it; `id` is the id it was stored under, for the error when it is
 * damaged (CorruptRecordError).
 */
export function decodeRecordHeader(
  text: string,
  threadId: string,
  namespace: string,
  id: string,
): EncodedHeader {
  const where = () => `${recordLabel(threadId, namespace, id)}, header`;
  if (text.startsWith("{")) {
    const parsed = parseStored(text, where) as Partial<EncodedHeader> | null;
    if (typeof parsed !== "object" || parsed === null || typeof parsed.id !== "string")
      throw new CorruptRecordError(where(), "not a layout-1 header");
    return { ...(parsed as EncodedHeader), threadId, namespace };
  }
  const f = text.split(SEPARATOR);
  if (f.length !== 13 || f[0] !== LAYOUT)
    throw new CorruptRecordError(where(), "unknown or truncated stored layout");
  const numbers = [1, 5, 6, 7, 8, 9, 10].map((i) => Number(f[i]));
  if (f[2] === "" || !numbers.every(Number.isFinite))
    throw new CorruptRecordError(where(), "malformed layout-2 header");
  const [formatVersion, step, createdAt, chainLength, chainBytes, snapshotBytes, nextCount] =
    numbers as [number, number, number, number, number, number, number];
  const storedId = f[2]!;
  return {
    formatVersion,
    threadId,
    namespace,
    id: storedId,
    parentId: f[3] === "" ? null : f[3]!,
    baseId: f[4] === "" ? storedId : f[4]!,
    step,
    createdAt,
    chainLength,
    chainBytes,
    snapshotBytes,
    nextCount,
    metadata: f[11]!,
    header: f[12]!,
  };
}

/**
 * A whole stored checkpoint of either layout: header, `p:` field and `s:`
 * field ("" = none); `id` as for decodeRecordHeader.
 */
export function decodeRecord(
  header: string,
  payload: string,
  snapshot: string,
  threadId: string,
  namespace: string,
  id: string,
): EncodedCheckpoint {
  const decoded = decodeRecordHeader(header, threadId, namespace, id);
  if (header.startsWith("{")) {
    const where = () => `${recordLabel(threadId, namespace, id)}, writes`;
    const envelope = parseStored(payload, where) as { writes?: unknown; snapshot?: unknown } | null;
    if (
      typeof envelope !== "object" ||
      envelope === null ||
      typeof envelope.writes !== "string" ||
      (envelope.snapshot !== null && typeof envelope.snapshot !== "string")
    )
      throw new CorruptRecordError(where(), "not a layout-1 payload");
    return { ...decoded, writes: envelope.writes, snapshot: envelope.snapshot };
  }
  return { ...decoded, writes: payload, snapshot: snapshot === "" ? null : snapshot };
}

/** The chainLength field of a stored header (layout 2; 0 for layout 1, which has no deltas). */
export function chainLengthOf(header: string): number {
  if (!header.startsWith(`${LAYOUT}${SEPARATOR}`)) return 0;
  let at = -1;
  for (let field = 0; field < 7; field += 1) {
    at = header.indexOf(SEPARATOR, at + 1);
    if (at === -1) return 0;
  }
  const end = header.indexOf(SEPARATOR, at + 1);
  const length = Number(header.slice(at + 1, end === -1 ? undefined : end));
  return Number.isFinite(length) ? length : 0;
}

/**
 * A chain record before the target's anchor: what a load needs of it (its
 * format, parent and step, read from the first fields of its header without
 * splitting the rest), its delta and its snapshot ("" = none). A layout-1
 * header is read whole.
 */
export function decodeLink(
  header: string,
  payload: string,
  snapshot: string,
  threadId: string,
  namespace: string,
  id: string,
): EncodedLink {
  if (header.startsWith("{"))
    return decodeRecord(header, payload, snapshot, threadId, namespace, id);
  const fields: string[] = [];
  let at = 0;
  while (fields.length < 6) {
    const end = header.indexOf(SEPARATOR, at);
    if (end === -1) break;
    fields.push(header.slice(at, end));
    at = end + 1;
  }
  const formatVersion = Number(fields[1]);
  const step = Number(fields[5]);
  if (
    fields.length !== 6 ||
    fields[0] !== LAYOUT ||
    fields[2] !== id ||
    !Number.isFinite(formatVersion) ||
    !Number.isFinite(step)
  )
    throw new CorruptRecordError(
      `${recordLabel(threadId, namespace, id)}, header`,
      "malformed layout-2 header",
    );
  return {
    formatVersion,
    threadId,
    id,
    parentId: fields[3] === "" ? null : fields[3]!,
    step,
    writes: payload,
    snapshot: snapshot === "" ? null : snapshot,
  };
}

/**
 * A stored pending write (JSON), of the checkpoint `where` names; `index`
 * is its place among the checkpoint's pending writes (in task, idx order),
 * named when the record is too damaged to name its task and channel.
 */
export function decodePendingRecord(
  text: string,
  where: () => string,
  index?: number,
): EncodedPendingWrite {
  const label = () => `pending write${index === undefined ? "" : ` #${index + 1}`} of ${where()}`;
  const parsed = parseStored(text, label) as EncodedPendingWrite;
  if (typeof parsed !== "object" || parsed === null || typeof parsed.channel !== "string")
    throw new CorruptRecordError(label(), "not a stored pending write");
  return parsed;
}

function parseStored(text: string, where: () => string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CorruptRecordError(where(), "not JSON", error);
  }
}
