import type {
  ChannelVersions,
  Checkpoint,
  CheckpointMetadata,
} from "@langchain/langgraph-checkpoint";
import { isValidId, type CheckpointHeader, type JsonValue } from "@waypoint/checkpoint";

/** The fields of a LangGraph checkpoint besides its id and channel values. */
export interface CheckpointFrame {
  readonly v: number;
  readonly ts: string;
  readonly channel_versions: ChannelVersions;
  readonly versions_seen: Record<string, ChannelVersions>;
}

/**
 * The reserved metadata key the frame rides under. Its versions go to
 * Waypoint's own fields, which store only what changed since the parent,
 * when Waypoint takes them (numbers, non-empty names); otherwise, whole here.
 */
export const FRAME_KEY = "__langgraph__";

type StoredFrame = Pick<CheckpointFrame, "v" | "ts"> &
  Partial<Pick<CheckpointFrame, "channel_versions" | "versions_seen">>;

/** Waypoint's step is an integer from -1 (the input); LangGraph's metadata usually says it. */
export function stepOf(metadata: CheckpointMetadata): number {
  const step: unknown = metadata.step;
  return typeof step === "number" && Number.isSafeInteger(step) && step >= -1 ? step : -1;
}

/** The Waypoint fields a LangGraph checkpoint and its metadata are stored in. */
export function frameFields(
  checkpoint: Checkpoint,
  metadata: CheckpointMetadata,
): {
  channelVersions: Record<string, number>;
  versionsSeen: Record<string, Record<string, number>>;
  metadata: Record<string, JsonValue>;
} {
  const json = JSON.parse(JSON.stringify(metadata ?? {})) as Record<string, JsonValue>;
  const versions = checkpoint.channel_versions ?? {};
  const seen = checkpoint.versions_seen ?? {};
  const native =
    isNative(versions) && Object.entries(seen).every(([node, v]) => isName(node) && isNative(v));
  const frame: StoredFrame = native
    ? { v: checkpoint.v, ts: checkpoint.ts }
    : { v: checkpoint.v, ts: checkpoint.ts, channel_versions: versions, versions_seen: seen };
  return {
    // Copies: the caller may change its checkpoint after the put, and Waypoint
    // stores the next put's versions as a delta from these.
    channelVersions: native ? ({ ...versions } as Record<string, number>) : {},
    versionsSeen: native
      ? (Object.fromEntries(
          Object.entries(seen).map(([node, nodeVersions]) => [node, { ...nodeVersions }]),
        ) as Record<string, Record<string, number>>)
      : {},
    metadata: { ...json, [FRAME_KEY]: frame },
  };
}

/** LangGraph's metadata and frame back from a Waypoint header, as fresh objects. */
export function readFrame(header: CheckpointHeader): {
  metadata: CheckpointMetadata;
  frame: CheckpointFrame;
} {
  const { [FRAME_KEY]: stored, ...metadata } = header.metadata;
  if (!isStoredFrame(stored)) {
    throw new Error(
      `Checkpoint ${header.id} was not written by WaypointSaver: its metadata has no "${FRAME_KEY}" entry`,
    );
  }
  const versions = stored.channel_versions ?? header.channelVersions;
  const seen = stored.versions_seen ?? header.versionsSeen;
  return {
    metadata: metadata as CheckpointMetadata,
    frame: {
      v: stored.v,
      ts: stored.ts,
      channel_versions: { ...versions },
      versions_seen: Object.fromEntries(
        Object.entries(seen).map(([node, nodeVersions]) => [node, { ...nodeVersions }]),
      ),
    },
  };
}

const RESERVED = new Set(["__proto__", "constructor", "prototype"]);

function isName(name: string): boolean {
  return isValidId(name) && !RESERVED.has(name) && !name.includes(".");
}

function isNative(versions: ChannelVersions): boolean {
  return Object.entries(versions).every(
    ([channel, version]) =>
      isName(channel) && typeof version === "number" && Number.isFinite(version),
  );
}

function isStoredFrame(value: unknown): value is StoredFrame {
  if (value === null || typeof value !== "object") return false;
  const frame = value as Partial<Record<keyof CheckpointFrame, unknown>>;
  return typeof frame.v === "number" && typeof frame.ts === "string";
}
