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
   * `{ channelVersions, versionsSeen, next }`.
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
>;

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
