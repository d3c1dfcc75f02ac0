/** Reading the thread: snapshots, finished tasks, log keys, recorded effects, and short summaries for reports. */
import type { Checkpointer, CheckpointHeader } from "@waypoint/checkpoint";
import type { Interrupt, StateSnapshot, StateTask } from "@waypoint/core";
import { keyOfEntry, type State } from "./graphs.js";

export type Snapshot = StateSnapshot<typeof State>;

/** The last 8 characters: ids are UUIDv7s (whose head is the time) or hashes. */
export const short = (id: string | null | undefined) => (id ? id.slice(-8) : String(id));

/** A task that finished in a superstep that has not committed (its sibling waits or failed). */
export function isFinished(task: StateTask): boolean {
  return task.writes !== undefined || (task as { result?: unknown }).result !== undefined;
}

/** The log entries a snapshot's finished-but-uncommitted tasks contribute. */
export function finishedEntries(snapshot: Snapshot): string[] {
  const out: string[] = [];
  for (const task of snapshot.tasks) {
    if (!isFinished(task)) continue;
    for (const write of task.writes ?? [])
      if (write.channel === "log") out.push(...entries(write.value));
    const result = (task as { result?: unknown }).result;
    if (
      task.writes === undefined &&
      result !== null &&
      typeof result === "object" &&
      "log" in result
    )
      out.push(...entries(result.log));
  }
  return out;
}

const entries = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");

/** The snapshot's log (a runtime that lost it gives an empty one, reported by the checks). */
export function logOf(snapshot: Snapshot | undefined): string[] {
  const log = snapshot?.values.log as unknown;
  return Array.isArray(log) ? (log as string[]) : [];
}

export function logKeys(log: readonly string[]): string[] {
  return log.map(keyOfEntry).filter((k): k is string => k !== undefined);
}

/** The keys of a snapshot's committed log (without its finished tasks' uncommitted writes). */
export function committedKeys(snapshot: Snapshot | undefined): Set<string> {
  if (snapshot === undefined) return new Set();
  const pending = new Set(finishedEntries(snapshot));
  return new Set(logKeys(logOf(snapshot).filter((entry) => !pending.has(entry))));
}

export async function headers(
  checkpointer: Checkpointer,
  threadId: string,
): Promise<CheckpointHeader[]> {
  const out: CheckpointHeader[] = [];
  for await (const header of checkpointer.list(threadId)) out.push(header);
  return out;
}

/** Keys of every effect recorded (ok) in the thread's storage, all namespaces and branches. */
export async function recordedKeys(
  checkpointer: Checkpointer,
  threadId: string,
): Promise<Set<string>> {
  const keys = new Set<string>();
  let data;
  try {
    data = await checkpointer.exportThread(threadId);
  } catch {
    return keys; // no thread yet
  }
  for (const write of data.pendingWrites) {
    if (write.channel !== "__effect__") continue;
    const parsed = JSON.parse(write.value) as unknown;
    const record = (Array.isArray(parsed) ? parsed[0] : (parsed as { json?: unknown }).json) as
      { ok?: boolean; result?: unknown } | undefined;
    if (record?.ok === true && typeof record.result === "string" && record.result.startsWith("R:"))
      keys.add(record.result.slice(2));
  }
  return keys;
}

export const dynamicIds = (interrupts: readonly Interrupt[]) =>
  interrupts.filter((i) => i.kind === "dynamic").map((i) => i.id);

function showInterrupt(i: Interrupt): string {
  return `${i.kind}:${i.node}${i.kind === "dynamic" ? `(${short(i.id)})` : ""}`;
}

export function summary(snapshot: Snapshot | undefined): string {
  if (snapshot === undefined) return "(no thread)";
  const tasks = snapshot.tasks.map((t) => {
    const flags = [
      isFinished(t) ? "finished" : "",
      t.interrupts.length ? `interrupts=${t.interrupts.map(showInterrupt).join("+")}` : "",
      t.error ? `error=${t.error.name}` : "",
    ].filter(Boolean);
    return `${t.name}/${short(t.id)}${flags.length ? `[${flags.join(",")}]` : ""}`;
  });
  const log = logOf(snapshot).map((entry) => entry.replace(/R:[0-9a-f-]*([0-9a-f]{8})/, "R:$1"));
  return [
    `checkpoint=${short(snapshot.checkpointId)} parent=${short(snapshot.parentCheckpointId)} step=${snapshot.step} source=${JSON.stringify(snapshot.metadata.source)}`,
    `next=[${snapshot.next.join(",")}] tasks=[${tasks.join(" ")}]`,
    `interrupts=[${snapshot.interrupts.map(showInterrupt).join(",")}]`,
    `log=[${log.join(", ")}]${snapshot.values.note ? ` note=${snapshot.values.note}` : ""}${snapshot.values.log === undefined ? " (values.log is undefined!)" : ""}`,
  ].join("\n      ");
}

export function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}
