import type { Checkpointer, CheckpointHeader, CheckpointMetadata } from "@waypoint/checkpoint";
import { storedIdentity, type StoredShape } from "../graph/graph-identity.js";

/**
 * Reads `metadata.graphShape` of a stored checkpoint: the channel kinds and
 * nodes of the graph that wrote it. Only the first checkpoint a graph of a
 * fingerprint writes in a thread records it (see shapeAt). Channels whose
 * kind is not a string, and nodes that are not strings, are left out.
 */
export function storedShape(metadata: CheckpointMetadata): StoredShape | undefined {
  const shape = metadata.graphShape;
  if (!isPlainObject(shape)) return undefined;
  const { channels, nodes } = shape;
  if (!isPlainObject(channels) || !Array.isArray(nodes)) return undefined;
  return {
    channels: Object.fromEntries(
      Object.entries(channels).filter((entry): entry is [string, string] => {
        return typeof entry[1] === "string";
      }),
    ),
    nodes: nodes.filter((node): node is string => typeof node === "string"),
  };
}

/**
 * The shape of the graph that wrote a checkpoint: its own, or the one stored
 * by the nearest earlier checkpoint of the same fingerprint (walking back
 * from it). Undefined for checkpoints written before graphs recorded their
 * identity and shape.
 */
export async function shapeAt(
  checkpointer: Checkpointer,
  checkpoint: Pick<CheckpointHeader, "threadId" | "namespace" | "id" | "metadata">,
): Promise<StoredShape | undefined> {
  const own = storedShape(checkpoint.metadata);
  if (own !== undefined) return own;
  const fingerprint = storedIdentity(checkpoint.metadata)?.fingerprint;
  if (fingerprint === undefined) return undefined;
  const { threadId, namespace, id } = checkpoint;
  for await (const header of checkpointer.list(threadId, { namespace, before: id })) {
    if (storedIdentity(header.metadata)?.fingerprint !== fingerprint) continue;
    const shape = storedShape(header.metadata);
    if (shape !== undefined) return shape;
  }
  return undefined;
}

/** The newest shape any of `headers` (oldest first) records, whatever graph wrote it. */
export function newestShape(headers: readonly CheckpointHeader[]): StoredShape | undefined {
  for (let i = headers.length - 1; i >= 0; i -= 1) {
    const shape = storedShape(headers[i]!.metadata);
    if (shape !== undefined) return shape;
  }
  return undefined;
}

/** The graph name the newest of `headers` (oldest first) that records one records. */
export function newestGraphName(headers: readonly CheckpointHeader[]): string | undefined {
  for (let i = headers.length - 1; i >= 0; i -= 1) {
    const identity = storedIdentity(headers[i]!.metadata);
    if (identity !== undefined) return identity.name;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
