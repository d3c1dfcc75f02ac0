import {
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  writesSortKey,
  type CheckpointPendingWrite,
  type PendingWrite as LangGraphWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { PendingWrite } from "@waypoint/checkpoint";
import { isItem, loadItem, serializeValue, type StoredItem } from "./channel-codec.js";

/** A LangGraph pending write in the store: its task path (when not "") and its value. */
interface StoredWrite {
  readonly p?: string;
  readonly i: StoredItem;
}

/**
 * LangGraph's writes as Waypoint pending writes. Its special channels
 * (error, interrupt, resume, scheduled) take the negative index LangGraph
 * gives them, so a task's later interrupt replaces the earlier one.
 */
export async function encodeWrites(
  serde: SerializerProtocol,
  writes: readonly LangGraphWrite[],
  taskId: string,
  taskPath: string,
): Promise<PendingWrite[]> {
  return Promise.all(
    writes.map(async ([channel, value], index) => {
      const stored: StoredWrite = {
        ...(taskPath === "" ? {} : { p: taskPath }),
        i: await serializeValue(serde, value),
      };
      return { taskId, idx: WRITES_IDX_MAP[channel] ?? index, channel, value: stored };
    }),
  );
}

/** Back to LangGraph's writes, in its order: task path, task id, index. */
export async function decodeWrites(
  serde: SerializerProtocol,
  writes: readonly PendingWrite[],
): Promise<CheckpointPendingWrite[]> {
  const keyed = writes.map((write) => {
    const stored = asStoredWrite(write.value);
    return { key: writesSortKey(stored.p ?? "", write.taskId, write.idx), write, stored };
  });
  keyed.sort((a, b) => compareWritesSortKeys(a.key, b.key));
  return Promise.all(
    keyed.map(async ({ write, stored }): Promise<CheckpointPendingWrite> => [
      write.taskId,
      write.channel,
      await loadItem(serde, stored.i),
    ]),
  );
}

function asStoredWrite(value: unknown): StoredWrite {
  if (value !== null && typeof value === "object" && "i" in value && isItem(value.i)) {
    return value as StoredWrite;
  }
  throw new Error("A pending write in this thread was not written by WaypointSaver");
}
