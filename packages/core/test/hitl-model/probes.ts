/**
 * Invariants checked on a scratch copy of the thread (`copyThread` keeps the
 * pending writes), so that the thread under test is not disturbed:
 * - interrupt-resumable: each pending interrupt, answered alone (a dynamic
 *   one by id, a breakpoint by invoke(null)), is no longer pending and its
 *   task ran;
 * - next-is-what-runs: `getState().next` is what the first superstep of a
 *   following invoke(null) runs (with every dynamic interrupt answered, as
 *   invoke(null) runs nothing while one waits).
 */
import type { Checkpointer } from "@waypoint/checkpoint";
import { Command, type TaskEvent } from "@waypoint/core";
import type { Violation } from "./effect-rules.js";
import type { ModelGraph } from "./graphs.js";
import type { MemorySink } from "./sink.js";
import { isFinished, sameMultiset, short, type Snapshot } from "./snapshot.js";

export interface ProbeEnv {
  readonly graph: ModelGraph;
  readonly checkpointer: Checkpointer;
  readonly threadId: string;
  readonly sink: MemorySink;
  scratchId(): string;
}

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);

async function withCopy(env: ProbeEnv, body: (threadId: string) => Promise<void>): Promise<void> {
  const copy = env.scratchId();
  await env.checkpointer.copyThread(env.threadId, copy);
  try {
    await env.sink.aside(() => body(copy));
  } finally {
    await env.checkpointer.deleteThread(copy);
  }
}

export async function probeInterrupts(env: ProbeEnv, after: Snapshot): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const i of after.interrupts) {
    const v = (detail: string) =>
      out.push({
        invariant: "interrupt-resumable",
        detail: `${i.kind} ${i.node} (${short(i.id)}): ${detail}`,
      });
    await withCopy(env, async (copy) => {
      try {
        const input = i.kind === "dynamic" ? new Command({ resume: { [i.id]: "probe" } }) : null;
        await env.graph.invoke(input, { threadId: copy });
      } catch (error) {
        v(`answering it on a copy failed: ${describe(error)}`);
        return;
      }
      const state = await env.graph.getState(copy);
      if (state?.interrupts.some((x) => x.id === i.id)) v("still pending after it was answered");
      const owner = after.tasks.find((t) => t.interrupts.some((x) => x.id === i.id));
      const now = owner && state?.tasks.find((t) => t.id === owner.id);
      if (
        now !== undefined &&
        !isFinished(now) &&
        now.interrupts.length === 0 &&
        now.error === undefined
      )
        v(`answered, but its task ${now.name} did not run`);
    });
  }
  return out;
}

async function firstSuperstep(env: ProbeEnv, input: Command | null, threadId: string) {
  const starts: TaskEvent[] = [];
  for await (const event of env.graph.stream(input, { threadId, streamMode: "tasks" }))
    if ((event as TaskEvent).event === "start") starts.push(event as TaskEvent);
  const step = starts[0]?.step;
  return starts.filter((s) => s.step === step).map((s) => s.name);
}

export async function probeNext(env: ProbeEnv, after: Snapshot): Promise<Violation[]> {
  const out: Violation[] = [];
  const dynamic = after.interrupts.filter((i) => i.kind === "dynamic");
  const held = after.interrupts.some((i) => i.kind !== "dynamic");
  const how = dynamic.length > 0 ? "resuming every interrupt" : "invoke(null)";
  await withCopy(env, async (copy) => {
    let ran: string[];
    try {
      const input =
        dynamic.length > 0
          ? new Command({ resume: Object.fromEntries(dynamic.map((i) => [i.id, "probe"])) })
          : null;
      ran = await firstSuperstep(env, input, copy);
      // Nothing ran because the run just reached an interruptBefore: approve it and look again.
      const paused = await env.graph.getState(copy);
      if (ran.length === 0 && !held && paused?.interrupts.some((i) => i.kind === "before"))
        ran = await firstSuperstep(env, null, copy);
    } catch (error) {
      out.push({
        invariant: "next-is-what-runs",
        detail: `${how} on a copy failed: ${describe(error)}`,
      });
      return;
    }
    if (!sameMultiset(ran, after.next))
      out.push({
        invariant: "next-is-what-runs",
        detail: `getState().next is [${after.next.join(",")}] but ${how} on a copy first ran [${ran.join(",")}]`,
      });
  });
  return out;
}
