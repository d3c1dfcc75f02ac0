import type { Checkpointer } from "@waypoint/checkpoint";
import { describe, expect, it } from "vitest";
import { lastValue } from "../../src/channels/index.js";
import { Command, END, START } from "../../src/constants.js";
import { StateGraph } from "../../src/graph/state-graph.js";
import { defineState } from "../../src/state.js";
import {
  EssayV1,
  Sink,
  draftNode,
  essayV1,
  essayV2,
  expectOneChain,
  reviewNode,
  storedOf,
  type Resumable,
} from "./essay-graphs.js";

/** Deploys a paused thread follows without a word: added nodes and channels, changed code, a new edge, an unused channel removed. */
export function compatibleChangeTests(store: () => Promise<Checkpointer>): void {
  describe.each([
    ["interrupt() in the node", {}],
    ["interruptBefore", { interruptBefore: ["review"] }],
  ] as const)("a thread paused at %s", (_label, pause) => {
    it("goes on on v2 with an added node and channel, ending as a v2 run does", async () => {
      const checkpointer = await store();
      const sink = new Sink();
      const paused = await essayV1(checkpointer, sink, pause).invoke(
        { topic: "tides" },
        { threadId: "t" },
      );
      expect(paused.__interrupt__).toHaveLength(1);
      const v2 = essayV2(checkpointer, sink, pause);
      const done = await v2.invoke(new Command({ resume: "yes" }), { threadId: "t" });
      // The same thread run on v2 from the start, with the same answer.
      await v2.invoke({ topic: "tides" }, { threadId: "reference" });
      const reference = await v2.invoke(new Command({ resume: "yes" }), {
        threadId: "reference",
      });
      const strip = (log: string[]) => log.map((line) => line.replace(/:[0-9a-f-]+$/, ""));
      expect({ ...done, log: strip(done.log) }).toEqual({
        ...reference,
        log: strip(reference.log),
      });
      expect(done.__interrupt__).toBeUndefined();
      expect(done.log.at(-1)).toBe("polish:plain");
      expect(done.draft).toBe("draft of tides (plain)");
      // The effect ran once on each thread: the deploy replayed its record.
      expect(sink.keys).toHaveLength(2);
      expectOneChain((await storedOf(checkpointer, "t")).headers);
    });
  });

  describe("compatible changes go on without a word", () => {
    async function goesOn(
      v1: (checkpointer: Checkpointer, sink: Sink) => Resumable<unknown>,
      v2: (checkpointer: Checkpointer, sink: Sink) => Resumable<{ log: string[] }>,
    ) {
      const checkpointer = await store();
      const sink = new Sink();
      await v1(checkpointer, sink).invoke({ topic: "tides" }, { threadId: "t" });
      const oldHead = (await storedOf(checkpointer, "t")).headers[0]!;
      const done = await v2(checkpointer, sink).invoke(new Command({ resume: "yes" }), {
        threadId: "t",
      });
      const { headers } = await storedOf(checkpointer, "t");
      expect(headers.filter((h) => h.metadata.source === "migration")).toEqual([]);
      expectOneChain(headers);
      expect(sink.keys).toHaveLength(1);
      const after = headers.find((h) => h.parentId === oldHead.id);
      expect(after).toBeDefined();
      return { done, oldHead, after: after! };
    }

    it("changed node code: the same identity, no shape recorded again", async () => {
      const { done, oldHead, after } = await goesOn(essayV1, (checkpointer, sink) =>
        new StateGraph(EssayV1)
          .addNode("write", draftNode)
          .addNode("review", async (s, ctx) => {
            const { log } = await reviewNode(sink, "review", true)(s, ctx);
            return { log: log.toUpperCase() };
          })
          .addEdge(START, "write")
          .addEdge("write", "review")
          .addEdge("review", END)
          .compile({ checkpointer }),
      );
      expect(done.log[1]).toMatch(/^REVIEW:YES:/);
      expect(oldHead.metadata.graph).toMatchObject({ name: "graph", version: 1 });
      expect(after.metadata.graph).toEqual(oldHead.metadata.graph);
      expect(after.metadata.graphShape).toBeUndefined();
    });

    it.each([
      [
        "an added edge",
        {
          channels: { topic: "lastValue", draft: "lastValue", log: "reducer" },
          nodes: ["write", "review", "publish"],
        },
      ],
      [
        "a removed channel that holds no value (never written, with or without a default)",
        {
          channels: { topic: "lastValue", draft: "lastValue", log: "reducer" },
          nodes: ["write", "review"],
        },
      ],
    ] as const)(
      "%s: the next checkpoint records the new identity and shape",
      async (label, shape) => {
        const withPublish = label === "an added edge";
        const StateV1 = defineState({
          ...EssayV1,
          unused: lastValue<string>(),
          defaulted: lastValue<string>({ default: () => "stored with the snapshot" }),
        });
        const build = (checkpointer: Checkpointer, sink: Sink, version: 1 | 2) => {
          const graph = new StateGraph(withPublish || version === 2 ? EssayV1 : StateV1)
            .addNode("write", draftNode)
            .addNode("review", reviewNode(sink, "review", true))
            .addEdge(START, "write")
            .addEdge("write", "review");
          if (!withPublish) return graph.addEdge("review", END).compile({ checkpointer });
          const published = graph
            .addNode("publish", () => ({ log: "publish" }))
            .addEdge("review", "publish")
            .addEdge("publish", END);
          return (version === 2 ? published.addEdge("write", "publish") : published).compile({
            checkpointer,
          });
        };
        const { done, oldHead, after } = await goesOn(
          (c, s) => build(c, s, 1),
          (c, s) => build(c, s, 2),
        );
        expect(done.log.length).toBe(withPublish ? 3 : 2);
        const graph = after.metadata.graph;
        expect(graph).toEqual({
          name: "graph",
          version: 1,
          fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/) as unknown,
        });
        expect(graph).not.toEqual(oldHead.metadata.graph);
        expect(after.metadata.graphShape).toEqual(shape);
      },
    );
  });
}
