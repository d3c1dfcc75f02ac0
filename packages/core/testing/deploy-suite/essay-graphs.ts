import type { Checkpointer, CheckpointHeader } from "@waypoint/checkpoint";
import { expect } from "vitest";
import { lastValue, reducer } from "../../src/channels/index.js";
import { END, START, type Command } from "../../src/constants.js";
import type { NodeContext } from "../../src/graph/graph-spec.js";
import type { CompileOptions } from "../../src/graph/compile-options.js";
import { StateGraph } from "../../src/graph/state-graph.js";
import { interrupt } from "../../src/pregel/interrupt.js";
import { defineState } from "../../src/state.js";

/** The deploy suite's graphs (an essay: write, then review), their versions, and what the tests read of a thread. */

export const appendLog = () =>
  reducer(
    (lines: string[], line: string) => [...lines, line],
    () => [] as string[],
  );

/** Version 1 of the essay graph's state: what every thread in this suite starts with. */
export const EssayV1 = defineState({
  topic: lastValue<string>(),
  draft: lastValue<string>(),
  log: appendLog(),
});

/** Counts the calls an outside service saw, by idempotency key. */
export class Sink {
  readonly keys: string[] = [];
  call(key: string): string {
    this.keys.push(key);
    return key;
  }
}

type Ctx = NodeContext;

/** The node that pauses: it notifies through an effect, then asks (unless a breakpoint asks instead). */
export function reviewNode(sink: Sink, name: string, ask: boolean) {
  return async (_s: unknown, ctx: Ctx) => {
    const key = await ctx.effect("notify", ({ idempotencyKey }) => sink.call(idempotencyKey));
    const verdict = ask ? interrupt<string>("approve?") : "breakpoint";
    return { log: `${name}:${verdict}:${key.slice(0, 12)}` };
  };
}

export const draftNode = (s: { topic: string }) => ({ draft: `draft of ${s.topic}`, log: "draft" });

/** v1: START → draft → review (effect, then interrupt) → END. */
export function essayV1(
  checkpointer: Checkpointer,
  sink: Sink,
  options: Partial<CompileOptions> = {},
) {
  return new StateGraph(EssayV1)
    .addNode("write", draftNode)
    .addNode("review", reviewNode(sink, "review", options.interruptBefore === undefined))
    .addEdge(START, "write")
    .addEdge("write", "review")
    .addEdge("review", END)
    .compile({ checkpointer, ...options });
}

/** A thread's stored record: its headers (newest first) and its head's pending writes. */
export async function storedOf(checkpointer: Checkpointer, threadId: string) {
  const headers: CheckpointHeader[] = [];
  for await (const header of checkpointer.list(threadId)) headers.push(header);
  const head = await checkpointer.get(threadId);
  return { headers, pendingWrites: head?.pendingWrites ?? [] };
}

/** The checkpoints form one chain: each one's parent is the one before it. */
export function expectOneChain(headers: readonly CheckpointHeader[]) {
  for (let i = 0; i + 1 < headers.length; i += 1)
    expect(headers[i]!.parentId).toBe(headers[i + 1]!.id);
  expect(headers.at(-1)?.parentId ?? null).toBeNull();
}

export const INTERNAL = /branch:to:|join:|__/;

/** What these tests need of a compiled graph, whatever its state. */
export interface Resumable<R> {
  invoke(input: Command | { topic: string } | null, options: { threadId: string }): Promise<R>;
}

/** v2 adds a node after review and a channel with a default, which that node reads. */
export function essayV2(
  checkpointer: Checkpointer,
  sink: Sink,
  extra: Partial<CompileOptions> = {},
) {
  const State = defineState({
    ...EssayV1,
    tone: lastValue<string>({ default: () => "plain" }),
  });
  return new StateGraph(State)
    .addNode("write", draftNode)
    .addNode("review", reviewNode(sink, "review", extra.interruptBefore === undefined))
    .addNode("polish", (s) => ({ draft: `${s.draft} (${s.tone})`, log: `polish:${s.tone}` }))
    .addEdge(START, "write")
    .addEdge("write", "review")
    .addEdge("review", "polish")
    .addEdge("polish", END)
    .compile({ checkpointer, version: 2, ...extra });
}

/** v2 calls "review" "approve", and says so. */
export function renamed(
  checkpointer: Checkpointer,
  sink: Sink,
  extra: Partial<CompileOptions> = {},
) {
  return new StateGraph(EssayV1)
    .addNode("write", draftNode)
    .addNode("approve", reviewNode(sink, "approve", true))
    .addEdge(START, "write")
    .addEdge("write", "approve")
    .addEdge("approve", END)
    .compile({ checkpointer, version: 2, renamedNodes: { review: "approve" }, ...extra });
}
