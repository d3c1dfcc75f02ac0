import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { ChildScript } from "@waypoint/test-services";
import {
  RECURSION_LIMIT,
  SUPERSTEPS,
  TASKS,
  WORKERS,
  buildCrashGraph,
} from "./fixtures/crash-graph.js";

const CHILD = fileURLToPath(new URL("./fixtures/crash-child.ts", import.meta.url));
const DONE_CHANNEL = "__done__";

const directory = mkdtempSync(join(tmpdir(), "waypoint-crash-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/**
 * Where to kill: the nth line of a kind at a step ("task-end:7:1" is the first
 * task to finish in superstep 7). The child blocks right after printing that
 * line, so the kill lands exactly there. With `delayMs`, the child is killed
 * that long after the line while it keeps running, wherever it happens to be
 * (or, at the latest, where it blocks: at the superstep's boundary).
 */
interface KillPoint {
  readonly at: string;
  readonly delayMs?: number;
}

/** Supersteps run plan (3r), work ×3 + audit (3r+1) and merge (3r+2). */
const MID_TASK: Readonly<Record<number, readonly KillPoint[]>> = {
  0: [{ at: "task-start:0:1" }], // a single task in flight
  1: [{ at: "task-start:1:4" }], // all four started
  5: [{ at: "task-start:5:1" }],
  7: [{ at: "task-end:7:1" }], // one saved as pending writes, three in flight
  13: [
    { at: "task-end:13:2" }, // two saved, two in flight...
    { at: "task-start:13:1" }, // ...and killed again as they re-run
  ],
  19: [{ at: "task-end:19:3" }], // only the slowest worker in flight
  22: [{ at: "task-start:22:1", delayMs: 20 }],
  28: [{ at: "task-start:28:1", delayMs: 35 }],
};

function killSchedule(): KillPoint[] {
  const points: KillPoint[] = [];
  // Step -1 is the input's checkpoint; the supersteps' checkpoints are steps 0..SUPERSTEPS-1.
  for (let step = -1; step < SUPERSTEPS; step += 1) {
    points.push(...(MID_TASK[step] ?? []), { at: `boundary:${step}:1` });
  }
  return points;
}

/** Does `line` ("task-end <id> <node> 7", "boundary 7 <id>") reach the point "task-end:7:n"? */
/** The lines of a kill point's kind and step, and which of them it is ("task-end:7:1" → the first). */
function killLine(at: string): { match: (line: string) => boolean; count: number } {
  const [kind, step, nth] = at.split(":");
  const match = (line: string) => {
    const parts = line.split(" ");
    const lineStep = kind === "boundary" ? parts[1] : parts[3];
    return parts[0] === kind && lineStep === step;
  };
  return { match, count: Number(nth) };
}

/** The execution log: one task id per start, in order. */
function starts(logFile: string): string[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("start "))
    .map((line) => line.split(" ")[1]!);
}

interface SavedState {
  /** Tasks whose writes are in a committed checkpoint, or saved with a done marker on the head. */
  readonly saved: ReadonlySet<string>;
  /** The head's tasks that have a done marker: saved as pending writes only. */
  readonly pendingDone: ReadonlySet<string>;
  readonly headStep: number;
}

async function savedState(file: string, threadId: string): Promise<SavedState> {
  const checkpointer = new SqliteCheckpointer(file);
  try {
    const saved = new Set<string>();
    for await (const header of checkpointer.list(threadId)) {
      const loaded = await checkpointer.get(threadId, { checkpointId: header.id });
      for (const write of loaded!.checkpoint.writes) saved.add(write.taskId);
    }
    saved.delete("__input__");
    const head = (await checkpointer.get(threadId))!;
    const pendingDone = new Set(
      head.pendingWrites.filter((w) => w.channel === DONE_CHANNEL).map((w) => w.taskId),
    );
    for (const id of pendingDone) saved.add(id);
    return { saved, pendingDone, headStep: head.checkpoint.step };
  } finally {
    await checkpointer.close();
  }
}

interface Kill extends SavedState {
  readonly at: string;
  /** The step of the checkpoint the child had just saved when it died, if that was its last act. */
  readonly boundary: number | undefined;
  /** Log lines written before the kill. */
  readonly logLength: number;
  /** Started, not saved: these may run again. */
  readonly inFlight: ReadonlySet<string>;
}

it("survives SIGKILL at every superstep boundary and mid-task, re-running only tasks in flight", async () => {
  const began = Date.now();
  const expectedLog = join(directory, "expected.log");
  const expectedGraph = buildCrashGraph(new MemoryCheckpointer(), expectedLog);
  const expected = await expectedGraph.invoke(
    { round: 0 },
    { threadId: "expected", recursionLimit: RECURSION_LIMIT },
  );
  const history = [];
  for await (const snapshot of expectedGraph.getStateHistory("expected")) history.push(snapshot);
  expect(history.map((h) => h.step).reverse()).toEqual(
    Array.from({ length: SUPERSTEPS + 1 }, (_, i) => i - 1),
  );
  expect(history.filter((h) => h.next.length === WORKERS + 1)).not.toHaveLength(0);
  expect(starts(expectedLog)).toHaveLength(TASKS);

  const file = join(directory, "crash.db");
  const logFile = join(directory, "crash.log");
  const threadId = "crashed";
  const kills: Kill[] = [];
  for (const point of killSchedule()) {
    // A late timed kill may already have killed the child at this boundary.
    if (point.at === `boundary:${kills.at(-1)?.boundary}:1`) continue;
    const mode = kills.length === 0 ? "start" : "resume";
    const [kind, step] = point.at.split(":");
    const stop = point.delayMs === undefined ? point.at : `boundary:${step}:1`;
    const child = new ChildScript(CHILD, [file, logFile, threadId, mode, stop]);
    const { match, count } = killLine(point.at);
    await child.waitFor(match, { count });
    if (point.delayMs !== undefined) await new Promise((r) => setTimeout(r, point.delayMs));
    await child.kill();
    const state = await savedState(file, threadId);
    const started = starts(logFile);
    const inFlight = new Set(started.filter((id) => !state.saved.has(id)));
    const boundary = child.lines.at(-1)?.startsWith("boundary ") ? state.headStep : undefined;
    kills.push({ at: point.at, boundary, logLength: started.length, inFlight, ...state });
    if (point.delayMs === undefined) {
      // Blocked where it was told: right after that boundary, or inside the superstep.
      expect(kind === "boundary" ? boundary : state.headStep, point.at).toBe(
        kind === "boundary" ? Number(step) : Number(step) - 1,
      );
      if (kind !== "boundary") expect(inFlight.size, point.at).toBeGreaterThan(0);
    }
  }
  const last = new ChildScript(CHILD, [file, logFile, threadId, "resume"]);
  await last.waitFor((line) => line === "done");
  expect(await last.exited).toBe(0);

  const checkpointer = new SqliteCheckpointer(file);
  const final = await buildCrashGraph(checkpointer, logFile).getState(threadId);
  await checkpointer.close();
  expect(final!.values).toEqual(expected);
  expect(final!.next).toEqual([]);
  expect(final!.step).toBe(SUPERSTEPS - 1);

  // Every boundary was a kill point, and some kills caught a superstep half saved.
  expect(kills.flatMap((k) => (k.boundary === undefined ? [] : [k.boundary]))).toEqual(
    Array.from({ length: SUPERSTEPS + 1 }, (_, i) => i - 1),
  );
  expect(kills.some((k) => k.pendingDone.size > 0 && k.inFlight.size > 0)).toBe(true);

  const log = starts(logFile);
  const { saved } = await savedState(file, threadId);
  expect(new Set(log)).toEqual(saved);
  expect(saved.size).toBe(TASKS);
  const positions = new Map<string, number[]>();
  log.forEach((id, position) => positions.set(id, [...(positions.get(id) ?? []), position]));
  // A task saved by the time of a kill never started again after it.
  for (const kill of kills) {
    const after = new Set(log.slice(kill.logLength));
    expect(
      [...kill.saved].filter((id) => after.has(id)),
      kill.at,
    ).toEqual([]);
  }
  // Between two starts of a task there was a kill while it was in flight.
  for (const [id, at] of positions) {
    for (let i = 1; i < at.length; i += 1) {
      const killed = kills.some(
        (k) => k.logLength > at[i - 1]! && k.logLength <= at[i]! && k.inFlight.has(id),
      );
      expect(killed, `task ${id} ran again at log line ${at[i]} without being in flight`).toBe(
        true,
      );
    }
  }

  const reruns = log.length - saved.size;
  const inFlight = kills.reduce((sum, k) => sum + k.inFlight.size, 0);
  expect(reruns).toBeGreaterThan(0);
  console.log(
    `crash test: ${kills.length} kills (${kills.filter((k) => k.boundary !== undefined).length} at boundaries), ` +
      `${log.length} task executions for ${saved.size} tasks, ${reruns} re-executions, ` +
      `${inFlight} tasks in flight at kills, ` +
      `${kills.reduce((sum, k) => sum + k.pendingDone.size, 0)} saved as pending writes at kills, ` +
      `${Date.now() - began} ms`,
  );
}, 120_000);
