import {
  type Checkpointer,
  type CheckpointHeader,
  type LoadedCheckpoint,
  newCheckpointId,
} from "@waypoint/checkpoint";

/**
 * A tiny hand-written run loop over the storage contract: each superstep
 * reads one page and appends a note. It exists to show what a checkpoint
 * holds until @waypoint/core's StateGraph replaces it.
 */
export interface TourState extends Record<string, unknown> {
  notes: string[];
  pagesRead: number;
}

export const PAGES = ["intro", "setup", "supersteps", "checkpoints", "forks", "recap"];

export function replay(loaded: LoadedCheckpoint): TourState {
  const state = { ...(loaded.base.values as TourState) };
  for (const delta of loaded.deltas) {
    for (const write of delta.writes) apply(state, write.channel, write.value);
  }
  return state;
}

function apply(state: TourState, channel: string, value: unknown): void {
  if (channel === "notes") state.notes = [...state.notes, value as string];
  if (channel === "pagesRead") state.pagesRead = value as number;
}

/** Runs supersteps from wherever the thread stands; stops after `maxSteps`. */
export async function runTour(
  checkpointer: Checkpointer,
  threadId: string,
  options: {
    maxSteps?: number;
    from?: CheckpointHeader;
    onStep?: (step: number, state: TourState) => void;
  } = {},
): Promise<TourState> {
  const loaded = await checkpointer.get(
    threadId,
    options.from ? { checkpointId: options.from.id } : {},
  );
  let head: CheckpointHeader | null = loaded?.checkpoint ?? null;
  let state: TourState = loaded ? replay(loaded) : { notes: [], pagesRead: 0 };
  const currentHead = (await checkpointer.get(threadId))?.checkpoint.id ?? null;
  let expectedHeadId = currentHead;
  for (
    let done = 0;
    done < (options.maxSteps ?? Infinity) && state.pagesRead < PAGES.length;
    done += 1
  ) {
    const page = PAGES[state.pagesRead]!;
    const note = `read "${page}"`;
    const next = { notes: [...state.notes, note], pagesRead: state.pagesRead + 1 };
    const id = newCheckpointId(expectedHeadId);
    head = await checkpointer.put({
      checkpoint: {
        threadId,
        id,
        step: (head?.step ?? -1) + 1,
        channelVersions: { notes: next.pagesRead, pagesRead: next.pagesRead },
        versionsSeen: { reader: { pagesRead: next.pagesRead } },
        next:
          next.pagesRead < PAGES.length
            ? [{ id: `${id}:reader`, node: "reader", triggers: ["pagesRead"] }]
            : [],
        writes: [
          { taskId: `${id}:reader`, channel: "notes", value: note },
          { taskId: `${id}:reader`, channel: "pagesRead", value: next.pagesRead },
        ],
        metadata: { source: "loop", page },
      },
      parent: head,
      expectedHeadId,
      snapshot: () => next,
    });
    expectedHeadId = head.id;
    state = next;
    options.onStep?.(head.step, state);
  }
  return state;
}
