import { v7 as uuidv7 } from "uuid";

/**
 * A new checkpoint id: a UUIDv7, so ids sort by creation time. Pass the
 * thread's current head: the new id then sorts after it even when this
 * machine's clock is behind the one that wrote the head.
 */
export function newCheckpointId(after?: string | null): string {
  const id = uuidv7();
  if (after == null || id > after) return id;
  const afterMs = Number.parseInt(after.slice(0, 8) + after.slice(9, 13), 16);
  if (!Number.isSafeInteger(afterMs)) return `${after}-1`;
  return uuidv7({ msecs: afterMs + 1 });
}
