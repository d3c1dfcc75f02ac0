import {
  ThreadNotFoundError,
  type Checkpointer,
  type LoadedCheckpoint,
} from "@waypoint/checkpoint";
import { shapeAt } from "@waypoint/core/inspect";
import { stateView, type StateView } from "./state-view.js";

/** The head, or one checkpoint; THREAD_NOT_FOUND when the thread has none. */
export async function loadCheckpoint(
  checkpointer: Checkpointer,
  threadId: string,
  checkpointId?: string,
): Promise<LoadedCheckpoint> {
  const loaded = await checkpointer.get(
    threadId,
    checkpointId === undefined ? {} : { checkpointId },
  );
  if (loaded === undefined) throw new ThreadNotFoundError(threadId);
  return loaded;
}

export async function stateOf(
  checkpointer: Checkpointer,
  loaded: LoadedCheckpoint,
): Promise<StateView> {
  return stateView(loaded, (await shapeAt(checkpointer, loaded.checkpoint))?.channels);
}
