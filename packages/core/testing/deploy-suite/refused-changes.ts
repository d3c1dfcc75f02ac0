import type { Checkpointer } from "@waypoint/checkpoint";
import { describe, expect, it } from "vitest";
import { lastValue, reducer } from "../../src/channels/index.js";
import { Command, END, START } from "../../src/constants.js";
import { StateGraph } from "../../src/graph/state-graph.js";
import { defineState } from "../../src/state.js";
import {
  EssayV1,
  INTERNAL,
  Sink,
  appendLog,
  draftNode,
  essayV1,
  reviewNode,
  storedOf,
  type Resumable,
} from "./essay-graphs.js";

/** Deploys a thread cannot follow: GRAPH_CHANGED (or CORRUPT_RECORD for a damaged plan), with nothing written. */
export function refusedChangeTests(store: () => Promise<Checkpointer>): void {
  describe("a change the thread cannot follow is GRAPH_CHANGED, and nothing is written", () => {
    async function refused(
      v2: (checkpointer: Checkpointer, sink: Sink) => Resumable<unknown>,
      problem: string,
    ) {
      const checkpointer = await store();
      const sink = new Sink();
      await essayV1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
      const before = await storedOf(checkpointer, "t");
      const graph = v2(checkpointer, sink);
      for (const input of [new Command({ resume: "yes" }), null]) {
        const error = await graph.invoke(input, { threadId: "t" }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "GRAPH_CHANGED" });
        const { problems, message } = error as { problems: string[]; message: string };
        expect(problems).toContain(problem);
        expect(message).toContain(problem);
        for (const text of [message, ...problems]) expect(text).not.toMatch(INTERNAL);
        expect(await storedOf(checkpointer, "t")).toEqual(before);
      }
      expect(sink.keys).toHaveLength(1);
    }

    it("a thread a newer version wrote, loaded by an older one (a rollback): the older one would undo its migration", async () => {
      const checkpointer = await store();
      const sink = new Sink();
      await essayV1(checkpointer, sink, { version: 3 }).invoke(
        { topic: "tides" },
        { threadId: "t" },
      );
      const before = await storedOf(checkpointer, "t");
      for (const version of [1, 2, "2025-01"] as const) {
        const older = essayV1(checkpointer, sink, { version });
        const error = await older
          .invoke(new Command({ resume: "yes" }), { threadId: "t" })
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "GRAPH_CHANGED", data: { newerVersion: true } });
        expect((error as { problems: string[] }).problems).toEqual([
          `the thread was written by version 3 of "graph", newer than this graph's version ${JSON.stringify(version)}`,
        ]);
        expect(await storedOf(checkpointer, "t")).toEqual(before);
      }
      // Version 1 (no version at all) is never newer: a versioned graph goes on from it.
      await essayV1(checkpointer, sink).invoke({ topic: "waves" }, { threadId: "unversioned" });
      const versioned = essayV1(checkpointer, sink, { version: "2025-01" });
      const resumed = await versioned.invoke(new Command({ resume: "yes" }), {
        threadId: "unversioned",
      });
      expect(resumed.log.at(-1)).toMatch(/^review:yes:/);
    });

    it("a planned node that v2 removed", async () => {
      await refused(
        (checkpointer) =>
          new StateGraph(EssayV1)
            .addNode("write", draftNode)
            .addEdge(START, "write")
            .addEdge("write", END)
            .compile({ checkpointer, version: 2 }),
        'node "review" is planned but no longer exists',
      );
    });

    it("a channel that holds a value and is gone", async () => {
      const State = defineState({ topic: lastValue<string>(), log: appendLog() });
      await refused(
        (checkpointer, sink) =>
          new StateGraph(State)
            .addNode("write", () => ({ log: "draft" }))
            .addNode("review", reviewNode(sink, "review", true))
            .addEdge(START, "write")
            .addEdge("write", "review")
            .addEdge("review", END)
            .compile({ checkpointer, version: 2 }),
        'channel "draft" holds a value but is gone',
      );
    });

    it("a channel whose kind changed from lastValue to reducer", async () => {
      const State = defineState({
        ...EssayV1,
        draft: reducer(
          (all: string, more: string) => all + more,
          () => "",
        ),
      });
      await refused(
        (checkpointer, sink) =>
          new StateGraph(State)
            .addNode("write", draftNode)
            .addNode("review", reviewNode(sink, "review", true))
            .addEdge(START, "write")
            .addEdge("write", "review")
            .addEdge("review", END)
            .compile({ checkpointer, version: 2 }),
        'channel "draft" changed from lastValue to reducer',
      );
    });
  });

  it("a hand-damaged head naming an unknown node is CORRUPT_RECORD naming thread and checkpoint", async () => {
    const checkpointer = await store();
    const sink = new Sink();
    const graph = essayV1(checkpointer, sink);
    await graph.invoke({ topic: "tides" }, { threadId: "t" });
    const head = (await storedOf(checkpointer, "t")).headers[0]!;
    const damaged = await checkpointer.put({
      checkpoint: {
        threadId: "t",
        step: head.step + 1,
        channelVersions: head.channelVersions,
        versionsSeen: head.versionsSeen,
        next: head.next.map((task) => ({ ...task, node: "ghost" })),
        writes: [],
        metadata: head.metadata,
      },
      parent: head,
      snapshot: () => {
        throw new Error("the state is small: no snapshot is due after one empty delta");
      },
    });
    for (const input of [new Command({ resume: "yes" }), null]) {
      const error = await graph.invoke(input, { threadId: "t" }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "CORRUPT_RECORD" });
      expect((error as Error).message).toContain('thread "t"');
      expect((error as Error).message).toContain(damaged.id);
      expect((error as Error).message).toContain('"ghost"');
    }
  });
}
