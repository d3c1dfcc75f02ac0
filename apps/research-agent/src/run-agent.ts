/**
 * Runs the agent on a thread (a new one, or one to resume) and reports its
 * progress as it goes, from the graph's stream: each task's update as soon as
 * the task finishes, and each checkpoint as it is saved.
 */
import type { CheckpointHeader } from "@waypoint/checkpoint";
import { stepsFor, type ResearchAgent, type ResearchValues } from "./graph.js";

export interface Progress {
  /** The last checkpointed superstep (-1: only the input). */
  readonly step: number;
  /** Pages in the plan (or asked for, before there is a plan). */
  readonly total: number;
  readonly fetched: number;
  readonly summarised: number;
  readonly emailed: boolean;
}

export type RunEvent =
  | { readonly type: "progress"; readonly progress: Progress; readonly checkpointed: boolean }
  | { readonly type: "salvaged"; readonly pageId: string; readonly text: string };

export interface RunRequest {
  readonly threadId: string;
  /** Starts a new thread with this question; without it, the thread is resumed. */
  readonly question?: string;
  /** Pages the corpus holds (for the progress total and the recursion limit). */
  readonly pages: number;
  readonly onEvent?: (event: RunEvent) => void;
}

export async function runAgent(agent: ResearchAgent, request: RunRequest): Promise<ResearchValues> {
  const { threadId, question, onEvent = () => undefined } = request;
  const fetched = new Set<string>();
  const summarised = new Set<string>();
  const planned = new Set<string>();
  let emailed = false;
  let step = -1;
  const apply = (update: Partial<ResearchValues>) => {
    for (const id of Object.keys(update.pages ?? {})) fetched.add(id);
    for (const id of Object.keys(update.summaries ?? {})) summarised.add(id);
    for (const id of update.todo ?? []) planned.add(id);
    if (update.emailed !== undefined) emailed = true;
  };
  // Every page is in the to-do list or summarised (summarised pages leave the list).
  const total = () =>
    planned.size === 0 ? request.pages : new Set([...planned, ...summarised]).size;
  const progress = (checkpointed: boolean) =>
    onEvent({
      type: "progress",
      progress: {
        step,
        total: total(),
        fetched: fetched.size,
        summarised: summarised.size,
        emailed,
      },
      checkpointed,
    });

  // Resuming: count what the thread has, including the tasks of its unfinished
  // superstep that finished before the crash (they will not run again).
  const before = await agent.getState(threadId);
  if (before !== undefined) {
    step = before.step;
    apply(before.values);
    for (const task of before.tasks)
      for (const write of task.writes ?? []) apply({ [write.channel]: write.value });
    progress(true);
  }

  const events = agent.stream(question === undefined ? null : { question }, {
    threadId,
    streamMode: ["updates", "checkpoints", "custom"],
    recursionLimit: stepsFor(Math.max(total(), request.pages)),
  });
  for await (const [mode, payload] of events) {
    if (mode === "updates") {
      for (const update of Object.values(payload as Record<string, Partial<ResearchValues>>))
        apply(update ?? {});
      progress(false);
    } else if (mode === "checkpoints") {
      step = (payload as CheckpointHeader).step;
      progress(true);
    } else if (mode === "custom") {
      const { salvaged } = payload as { salvaged?: { pageId: string; text: string } };
      if (salvaged !== undefined) onEvent({ type: "salvaged", ...salvaged });
    }
  }
  return (await agent.getState(threadId))!.values;
}
