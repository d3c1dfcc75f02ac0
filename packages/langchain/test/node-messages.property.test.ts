import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { END, START, StateGraph, type MessageMetadata } from "@waypoint/core";
import { MessagesAnnotation } from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";
import { STORES } from "./support/stores.js";

/** One model call of a node: a model that streams its tokens, or one that answers whole. */
type Call = "streams" | "whole";

/** A node: its calls, in order, and whether it also returns a message of its own. */
interface NodePlan {
  readonly calls: readonly Call[];
  readonly note: boolean;
}

const plans = fc.array(
  fc.record({
    calls: fc.array(fc.constantFrom<Call>("streams", "whole"), { maxLength: 3 }),
    note: fc.boolean(),
  }),
  { minLength: 1, maxLength: 4 },
);

/** Parallel nodes n0, n1, … from START, each making its calls (without a config) in turn. */
function graphOf(nodes: readonly NodePlan[], store: (typeof STORES)[number]) {
  let graph = new StateGraph(MessagesAnnotation);
  nodes.forEach((plan, index) => {
    const name = `n${String(index)}`;
    graph = graph.addNode(name, async (state: { messages: BaseMessage[] }) => {
      const answers: BaseMessage[] = [];
      for (const [call, kind] of plan.calls.entries()) {
        const text = `${name}.${String(call)};`;
        const model =
          kind === "streams"
            ? new FakeListChatModel({ responses: [text], sleep: 0 })
            : new ScriptedChatModel([new AIMessage(text)]);
        answers.push(await model.invoke(state.messages));
      }
      if (plan.note) answers.push(new AIMessage(`${name}.note;`));
      return { messages: answers };
    });
    graph = graph.addEdge(START, name).addEdge(name, END);
  });
  return graph.compile({ checkpointer: store.create() });
}

function expectedText(name: string, plan: NodePlan): string {
  return (
    plan.calls.map((_, call) => `${name}.${String(call)};`).join("") +
    (plan.note ? `${name}.note;` : "")
  );
}

describe.each(STORES)("streamMode 'messages', any nodes and calls ($name)", (store) => {
  it("reports every message exactly once, under the node that made it", async () => {
    let thread = 0;
    await fc.assert(
      fc.asyncProperty(plans, async (nodes) => {
        const graph = graphOf(nodes, store);
        const byNode = new Map<string, string>();
        for await (const event of graph.stream(
          { messages: [new HumanMessage("go")] },
          { threadId: `t${String((thread += 1))}`, streamMode: "messages" },
        )) {
          const [message, meta] = event as [BaseMessage, MessageMetadata];
          expect(meta.langgraph_node).toBe(meta.node);
          byNode.set(meta.node, (byNode.get(meta.node) ?? "") + message.text);
        }
        const expected = new Map<string, string>();
        nodes.forEach((plan, index) => {
          const text = expectedText(`n${String(index)}`, plan);
          if (text !== "") expected.set(`n${String(index)}`, text);
        });
        expect(byNode).toEqual(expected);
      }),
      { numRuns: 15 },
    );
  });
});
