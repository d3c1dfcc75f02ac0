/**
 * The stored format, shared by every backend. Backends keep these fields as
 * columns or hash fields; the value payloads are opaque JSON text produced by
 * the serializer. Every record carries its format version.
 */

export interface EncodedCheckpoint {
  readonly formatVersion: number;
  readonly threadId: string;
  readonly namespace: string;
  readonly id: string;
  readonly parentId: string | null;
  readonly step: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly baseId: string;
  readonly chainLength: number;
  readonly chainBytes: number;
  readonly snapshotBytes: number;
  /** How many tasks `next` plans, so thread status needs no decoding. */
  readonly nextCount: number;
  /** Plain JSON text. */
  readonly metadata: string;
  /**
   * JSON text of channelVersions, versionsSeen and next: since format 2
   * `[channels, seen, next]` (see internal/header-codec.ts), in format 1
   * `{ channelVersions, versionsSeen, next }`. Since format 3 it may be a
   * delta from the parent's header (internal/header-delta.ts), which decodes
   * only with the headers of the records before it in its chain, back to a
   * full one: at most 15, from the record whose chainLength is a multiple of 16.
   */
  readonly header: string;
  /** JSON text of the delta: since format 2 `[taskId, channel, json(, meta)][]`, in format 1 `[taskId, channel, { json, meta }][]`. */
  readonly writes: string;
  /**
   * JSON text of the channels' values (since format 2 `[channel, json(, meta)][]`, in
   * format 1 `{ channel: { json, meta } }`), or null when this checkpoint holds no snapshot.
   */
  readonly snapshot: string | null;
}

/** A record without its payloads: what listing needs. */
export type EncodedHeader = Omit<EncodedCheckpoint, "writes" | "snapshot">;

/**
 * What a load needs of the records before its target: where each one sits in
 * the chain, its delta, and the base's snapshot. A chain can be thousands of
 * records long (a growing list is not rewritten in snapshots), so a backend
 * reads these columns only.
 */
export type EncodedLink = Pick<
  EncodedCheckpoint,
  "formatVersion" | "threadId" | "id" | "parentId" | "step" | "writes" | "snapshot"
> & {
  /**
   * The record's header, read for the records from the target's anchor
   * (`anchorOf(target.chainLength)`) on, whose headers the target's may be
   * a delta of; null or absent before it.
   */
  readonly header?: string | null;
};

/** What decoding a header needs of an earlier record of its chain (see EncodedCheckpoint.header). */
export type HeaderLink = Pick<
  EncodedCheckpoint,
  "formatVersion" | "threadId" | "id" | "parentId"
> & {
  readonly header?: string | null;
};

/**
 * A pending write as stored: its checkpoint's address, its task and idx, and its value as
 * serializer JSON text.
 */
export interface EncodedPendingWrite {
  readonly formatVersion: number;
  readonly threadId: string;
  readonly namespace: string;
  readonly checkpointId: string;
  readonly taskId: string;
  readonly idx: number;
  readonly channel: string;
  /** JSON text of the value: since format 2 `[json(, meta)]`, in format 1 `{ json, meta }`. */
  readonly value: string;
}
