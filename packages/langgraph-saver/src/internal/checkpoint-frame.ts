import type { ChannelVersions, CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import type { JsonValue } from "@waypoint/checkpoint";

/**
 * The fields of a LangGraph checkpoint besides its id and channel values.
 * They ride in the Waypoint checkpoint's metadata under one reserved key:
 * LangGraph's versions may be strings and its node names may be empty, which
 * Waypoint's own version fields do not take.
 */
export interface CheckpointFrame {
  readonly v: number;
  readonly ts: string;
  readonly channel_versions: ChannelVersions;
  readonly versions_seen: Record<string, ChannelVersions>;
}

export const FRAME_KEY = "__langgraph__";

/** Waypoint's step is an integer from -1 (the input); LangGraph's metadata usually says it. */
export function stepOf(metadata: CheckpointMetadata): number {
  const step: unknown = metadata.step;
  return typeof step === "number" && Number.isSafeInteger(step) && step >= -1 ? step : -1;
}

/** LangGraph's metadata as plain JSON (it allows anything JSON.stringify takes), with the frame. */
export function joinMetadata(
  metadata: CheckpointMetadata,
  frame: CheckpointFrame,
): Record<string, JsonValue> {
  const json = JSON.parse(JSON.stringify(metadata ?? {})) as Record<string, JsonValue>;
  return { ...json, [FRAME_KEY]: frame as unknown as JsonValue };
}

export function splitMetadata(stored: Readonly<Record<string, JsonValue>>): {
  metadata: CheckpointMetadata;
  frame: CheckpointFrame;
} {
  const { [FRAME_KEY]: frame, ...metadata } = stored;
  if (!isFrame(frame)) {
    throw new Error(
      `This checkpoint was not written by WaypointSaver: its metadata has no "${FRAME_KEY}" entry`,
    );
  }
  return {
    metadata: metadata as CheckpointMetadata,
    frame: {
      v: frame.v,
      ts: frame.ts,
      channel_versions: { ...frame.channel_versions },
      versions_seen: Object.fromEntries(
        Object.entries(frame.versions_seen).map(([node, versions]) => [node, { ...versions }]),
      ),
    },
  };
}

function isFrame(value: unknown): value is CheckpointFrame {
  if (value === null || typeof value !== "object") return false;
  const frame = value as Partial<Record<keyof CheckpointFrame, unknown>>;
  return (
    typeof frame.v === "number" &&
    typeof frame.ts === "string" &&
    typeof frame.channel_versions === "object" &&
    frame.channel_versions !== null &&
    typeof frame.versions_seen === "object" &&
    frame.versions_seen !== null
  );
}
