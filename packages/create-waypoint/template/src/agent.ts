import type { Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, defineState, lastValue } from "@waypoint/core";
import type { Message } from "./outbox.js";

export const GreeterState = defineState({
  name: lastValue<string>({ default: () => "world" }),
  greeting: lastValue<string>({ default: () => "" }),
  // Undefined until the greeting is sent.
  receipt: lastValue<string>(),
});

export interface GreeterOptions {
  readonly checkpointer: Checkpointer;
  /** Delivers a message; called through `ctx.effect`, so once per recorded effect. */
  readonly send: (message: Message) => string | Promise<string>;
}

/**
 * Two nodes: `write` drafts a greeting (pure, may run again after a crash),
 * then `send` delivers it through `ctx.effect`, whose result is recorded in the
 * checkpointer and replayed instead of sending again.
 */
export function buildGreeter({ checkpointer, send }: GreeterOptions) {
  return new StateGraph(GreeterState)
    .addNode("write", (state) => ({ greeting: `Hello, ${state.name}!` }))
    .addNode("send", async (state, ctx) => {
      const receipt = await ctx.effect("send", ({ idempotencyKey }) =>
        send({ to: state.name, text: state.greeting, idempotencyKey }),
      );
      return { receipt };
    })
    .addEdge(START, "write")
    .addEdge("write", "send")
    .addEdge("send", END)
    .compile({ checkpointer });
}

export type Greeter = ReturnType<typeof buildGreeter>;

/**
 * Runs the thread to its end: starts it if it is new, resumes it if a run
 * stopped half way (a crash, a failed send), and returns the stored result if
 * it already finished.
 */
export async function runGreeter(greeter: Greeter, threadId: string, name: string) {
  const existing = await greeter.getState(threadId);
  if (existing === undefined) return greeter.invoke({ name }, { threadId });
  if (existing.next.length > 0) return greeter.invoke(null, { threadId });
  return existing.values;
}
