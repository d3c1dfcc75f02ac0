/**
 * The process the crash test kills: it opens the SQLite store, resumes the
 * thread it is given or the unfinished one it finds (else starts one), and
 * prints what happens as `event <json>` lines. At its kill point it says so
 * and waits, so the parent can SIGKILL it exactly there.
 */
import { randomUUID } from "node:crypto";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import {
  KILL_POINTS,
  buildSupervisor,
  transcript,
  type KillPoint,
  type Transcript,
} from "./graph.js";
import { runThread, type Turn } from "./run-thread.js";
import { DedupSink } from "./sink.js";

export type WorkerEvent =
  | { type: "started"; threadId: string; resumedFrom: number | null }
  | ({ type: "turn" } & Turn)
  | { type: "kill-point"; point: KillPoint }
  | { type: "finished"; threadId: string; step: number; next: string[]; transcript: Transcript };

export function isKillPoint(value: string | undefined): value is KillPoint {
  return value !== undefined && Object.hasOwn(KILL_POINTS, value);
}

export async function runWorker(options: {
  db: string;
  sink: string;
  threadId?: string | undefined;
  killAt?: KillPoint | undefined;
}): Promise<void> {
  const say = (event: WorkerEvent) => process.stdout.write(`event ${JSON.stringify(event)}\n`);
  const checkpointer = new SqliteCheckpointer(options.db);
  const graph = buildSupervisor({
    checkpointer,
    sink: new DedupSink(options.sink),
    atKillPoint: async (point) => {
      if (point !== options.killAt) return;
      say({ type: "kill-point", point });
      // Park here until the parent's SIGKILL; the interval keeps the process alive.
      setInterval(() => undefined, 60_000);
      await new Promise<never>(() => undefined);
    },
  });
  const threadId =
    options.threadId ??
    (await checkpointer.listThreads({ status: "pending" })).threads[0]?.threadId ??
    `supervisor-${randomUUID().slice(0, 8)}`;
  const before = await graph.getState(threadId);
  say({ type: "started", threadId, resumedFrom: before?.step ?? null });
  const state = await runThread(graph, {
    threadId,
    onTurn: (turn) => say({ type: "turn", ...turn }),
  });
  say({
    type: "finished",
    threadId,
    step: state.step,
    next: [...state.next],
    transcript: transcript(state.values.messages),
  });
  await checkpointer.close();
}
