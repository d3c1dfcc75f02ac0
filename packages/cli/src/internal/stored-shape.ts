import type { Checkpointer, CheckpointMetadata } from "@waypoint/checkpoint";

/** State key → channel kind, as the graph that wrote a checkpoint recorded it (issue 18). */
export type ChannelKinds = Readonly<Record<string, string>>;

/** The fingerprint in `metadata.graph`, if the checkpoint records one. */
function fingerprintOf(metadata: CheckpointMetadata): string | undefined {
  const graph = metadata.graph;
  if (graph === null || typeof graph !== "object" || Array.isArray(graph)) return undefined;
  const fingerprint = (graph as Readonly<Record<string, unknown>>).fingerprint;
  return typeof fingerprint === "string" ? fingerprint : undefined;
}

function channelsOf(metadata: CheckpointMetadata): ChannelKinds | undefined {
  const shape = metadata.graphShape;
  if (shape === null || typeof shape !== "object" || Array.isArray(shape)) return undefined;
  const channels = (shape as Readonly<Record<string, unknown>>).channels;
  if (channels === null || typeof channels !== "object" || Array.isArray(channels))
    return undefined;
  const kinds = Object.entries(channels as Record<string, unknown>).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string",
  );
  return Object.fromEntries(kinds);
}

/**
 * The channel kinds of the graph that wrote a checkpoint: `metadata.graphShape`
 * is stored on the first checkpoint a graph of a fingerprint writes in a
 * thread, so walk back from `checkpointId` to it. Undefined for threads
 * written before graphs recorded their shape.
 */
export async function channelKinds(
  checkpointer: Checkpointer,
  threadId: string,
  metadata: CheckpointMetadata,
  checkpointId: string,
): Promise<ChannelKinds | undefined> {
  const own = channelsOf(metadata);
  if (own !== undefined) return own;
  const fingerprint = fingerprintOf(metadata);
  if (fingerprint === undefined) return undefined;
  for await (const header of checkpointer.list(threadId, { before: checkpointId })) {
    if (fingerprintOf(header.metadata) !== fingerprint) continue;
    const kinds = channelsOf(header.metadata);
    if (kinds !== undefined) return kinds;
  }
  return undefined;
}
