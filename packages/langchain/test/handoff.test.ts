import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Command, END, START, StateGraph, interrupt } from "@waypoint/core";
import { MessagesAnnotation, createHandoffTool, toolNode } from "@waypoint/langchain";
import { STORES } from "./support/stores.js";

describe("createHandoffTool", () => {
  it("returns a Command to the parent graph that goes to the agent and answers the call", async () => {
    const handoff = createHandoffTool({ agentName: "Billing Team" });
    expect(handoff.name).toBe("transfer_to_billing_team");
    expect(handoff.description).toBe("Ask agent 'Billing Team' for help");
    const command: unknown = await handoff.invoke({
      id: "call-1",
      name: handoff.name,
      args: {},
      type: "tool_call",
    });
    expect(command).toBeInstanceOf(Command);
    const { graph, goto, update } = command as Command;
    expect([graph, goto]).toEqual([Command.PARENT, "Billing Team"]);
    const sent = (update as { messages: BaseMessage[] }).messages;
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(ToolMessage);
    expect(sent[0]).toMatchObject({
      tool_call_id: "call-1",
      name: "transfer_to_billing_team",
      content: "Successfully transferred to Billing Team",
    });
    expect(createHandoffTool({ agentName: "bob", description: "for refunds" }).description).toBe(
      "for refunds",
    );
  });
});

const contents = (history: readonly BaseMessage[]) =>
  history.map((m) => [m.getType(), m.content] as const);

describe.each(STORES)("a handoff between agents ($name)", (store) => {
  /** Alice is a subgraph: her model asks for a lookup and the handoff in one message. */
  function supervisor(onLookup: () => void) {
    const lookup = tool(
      () => {
        onLookup();
        return "order 42 found";
      },
      { name: "lookup", description: "find the order", schema: z.object({}) },
    );
    const alice = new StateGraph(MessagesAnnotation)
      .addNode("model", () => ({
        messages: [
          new AIMessage({
            content: "",
            tool_calls: [
              { id: "l1", name: "lookup", args: {}, type: "tool_call" },
              { id: "h1", name: "transfer_to_bob", args: {}, type: "tool_call" },
            ],
          }),
        ],
      }))
      .addNode("tools", toolNode([lookup, createHandoffTool({ agentName: "bob" })]))
      .addEdge(START, "model")
      .addEdge("model", "tools")
      .addEdge("tools", END)
      .compile();
    return new StateGraph(MessagesAnnotation)
      .addNode("alice", alice, { ends: ["bob"] })
      .addNode("bob", (state) => {
        const approved = interrupt<string>("refund?");
        return { messages: [new AIMessage(`bob: ${approved} (${state.messages.length} seen)`)] };
      })
      .addEdge(START, "alice")
      .addEdge("bob", END)
      .compile({ checkpointer: store.create() });
  }

  it("goes to the parent's agent with the conversation and every call's answer, recorded once", async () => {
    let lookups = 0;
    const graph = supervisor(() => (lookups += 1));
    const thread = { threadId: "t" };
    const paused = await graph.invoke({ messages: [new HumanMessage("refund order 42")] }, thread);
    expect(paused.__interrupt__?.map((i) => [i.node, i.value])).toEqual([["bob", "refund?"]]);
    expect((await graph.getState("t"))?.next).toEqual(["bob"]);

    const done = await graph.invoke(new Command({ resume: "yes" }), thread);
    expect(contents(done.messages)).toEqual([
      ["human", "refund order 42"],
      ["ai", ""],
      ["tool", "order 42 found"],
      ["tool", "Successfully transferred to bob"],
      ["ai", "bob: yes (4 seen)"],
    ]);
    expect((done.messages[3] as ToolMessage).tool_call_id).toBe("h1");
    expect(lookups).toBe(1);
  });
});
