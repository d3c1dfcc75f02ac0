import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  END,
  InvalidUpdateError,
  START,
  StateGraph,
  defineState,
  ephemeral,
  lastValue,
  topic,
  untracked,
  type StateOf,
} from "@waypoint/core";

describe("typed state", () => {
  it("validates writes with a Standard Schema (zod here), naming the key and the node", async () => {
    const State = defineState({
      title: lastValue({ schema: z.string().min(3) }),
      pages: topic<number>(),
    });
    const title: StateOf<typeof State>["title"] = "typed as string";
    expect(title).toBeTypeOf("string");
    const graph = new StateGraph(State)
      .addNode("name", () => ({ title: "ok" }))
      .addEdge(START, "name")
      .addEdge("name", END)
      .compile();
    const error = await graph.invoke({ title: "fine title" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidUpdateError);
    expect((error as InvalidUpdateError).data).toEqual({ channel: "title", nodes: ["name"] });
    expect((error as Error).message).toMatch(/at least 3|>=3|too small/i);
  });

  it("keeps an ephemeral value for one superstep only", async () => {
    const State = defineState({ hint: ephemeral<string>(), seen: topic<string>() });
    const graph = new StateGraph(State)
      .addNode("give", () => ({ hint: "psst" }))
      .addNode("read", (s) => ({ seen: `read: ${s.hint}` }))
      .addNode("later", (s) => ({ seen: `later: ${String(s.hint)}` }))
      .addEdge(START, "give")
      .addEdge("give", "read")
      .addEdge("read", "later")
      .addEdge("later", END)
      .compile();
    expect((await graph.invoke({})).seen).toEqual(["read: psst", "later: undefined"]);
  });

  it("never persists an untracked value: a run that resumes elsewhere does not see it", async () => {
    const State = defineState({
      client: untracked<{ connected: boolean }>(),
      log: topic<string>(),
    });
    const checkpointer = new MemoryCheckpointer();
    const build = () =>
      new StateGraph(State)
        .addNode("connect", () => ({ client: { connected: true } }))
        .addNode("use", (s) => ({ log: `client: ${s.client ? "present" : "absent"}` }))
        .addEdge(START, "connect")
        .addEdge("connect", "use")
        .addEdge("use", END)
        .compile({ checkpointer, interruptBefore: ["use"] });
    await build().invoke({}, { threadId: "t" });
    // A different process (a fresh compiled graph) resumes: the untracked value was never saved.
    const resumed = await build().resume("t");
    expect(resumed.log).toEqual(["client: absent"]);
    const saved = await checkpointer.get("t");
    expect(JSON.stringify(saved?.base.values)).not.toContain("connected");
  });
});
