import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  Command,
  END,
  START,
  StateGraph,
  defineState,
  interrupt,
  lastValue,
  topic,
} from "@waypoint/core";
import { createToolCallingAgent, messages, toolNode } from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";
import { STORES } from "./support/stores.js";

const State = defineState({ messages: messages(), route: lastValue<string>() });
/** Route is a last value (one write per step); notes a list. */
const WithNotes = defineState({ ...State, notes: topic<string>() });
const WithNoteOnly = defineState({
  messages: messages(),
  notes: topic<string>(),
  route: topic<string>(),
});

function ask(...calls: [string, string][]): AIMessage {
  return new AIMessage({
    content: "",
    tool_calls: calls.map(([id, name]) => ({ id, name, args: {}, type: "tool_call" as const })),
  });
}

const contents = (history: readonly BaseMessage[]) =>
  history.map((m) => [m.getType(), m.content] as const);

/** The id of the tool call a tool was invoked for (LangChain passes the call in its config). */
const callId = (config: unknown) =>
  (config as { toolCall?: { id?: string } }).toolCall?.id ?? "(no call)";

describe.each(STORES)("tools that return a Command ($name)", ({ create }) => {
  it("applies the update and follows the goto, with the calls' messages in call order", async () => {
    const runs = { transfer: 0, lookup: 0 };
    const transfer = tool(
      async (_input, config) => {
        runs.transfer += 1;
        return new Command({
          update: {
            messages: [new ToolMessage({ content: "moved", tool_call_id: callId(config) })],
            route: "billing",
          },
          goto: "billing",
        });
      },
      { name: "transfer", description: "hand over", schema: z.object({}) },
    );
    const lookup = tool(
      async () => {
        runs.lookup += 1;
        return "found";
      },
      { name: "lookup", description: "look up", schema: z.object({}) },
    );
    const checkpointer = create();
    const graph = new StateGraph(State)
      .addNode("tools", toolNode([lookup, transfer]), { ends: ["billing"] })
      .addNode("billing", () => ({ messages: [new AIMessage("billing here")] }))
      .addEdge(START, "tools")
      .addEdge("billing", END)
      .compile({ checkpointer });
    const result = await graph.invoke(
      { messages: [ask(["c1", "lookup"], ["c2", "transfer"])] },
      { threadId: "t" },
    );
    expect(contents(result.messages)).toEqual([
      ["ai", ""],
      ["tool", "found"],
      ["tool", "moved"],
      ["ai", "billing here"],
    ]);
    expect((result.messages[2] as ToolMessage).tool_call_id).toBe("c2");
    expect(result.route).toBe("billing");
    expect(runs).toEqual({ transfer: 1, lookup: 1 });
  });

  it("records the Command with the call: a resume applies it again without running the tool", async () => {
    let transfers = 0;
    const transfer = tool(
      async (_input, config) => {
        transfers += 1;
        return new Command({
          update: {
            messages: [new ToolMessage({ content: "moved", tool_call_id: callId(config) })],
            route: "billing",
          },
          goto: "billing",
        });
      },
      { name: "transfer", description: "hand over", schema: z.object({}) },
    );
    const approve = tool(async () => `approved: ${interrupt<string>("approve?")}`, {
      name: "approve",
      description: "asks a human",
      schema: z.object({}),
    });
    const checkpointer = create();
    const graph = new StateGraph(State)
      .addNode("tools", toolNode([transfer, approve]), { ends: ["billing"] })
      .addNode("billing", () => ({ messages: [new AIMessage("billing here")] }))
      .addEdge(START, "tools")
      .addEdge("billing", END)
      .compile({ checkpointer });
    const thread = { threadId: "t" };
    const paused = await graph.invoke(
      { messages: [ask(["c1", "transfer"], ["c2", "approve"])] },
      thread,
    );
    expect(paused.__interrupt__).toHaveLength(1);
    const state = await graph.getState("t");
    expect(state?.pendingToolCalls.map((c) => [c.id, c.recorded?.ok ?? null])).toEqual([
      ["c1", true],
      ["c2", null],
    ]);

    const done = await graph.invoke(new Command({ resume: "yes" }), thread);
    expect(contents(done.messages)).toEqual([
      ["ai", ""],
      ["tool", "moved"],
      ["tool", "approved: yes"],
      ["ai", "billing here"],
    ]);
    expect(done.route).toBe("billing");
    expect(transfers).toBe(1);
  });

  it("takes a Command whose update is only the ToolMessage, in the prebuilt agent", async () => {
    const weather = tool(
      async ({ city }: { city: string }, config) =>
        new Command({
          update: {
            messages: [
              new ToolMessage({
                content: `rain in ${city}`,
                tool_call_id: callId(config),
                artifact: { mm: 12 },
              }),
            ],
          },
        }),
      { name: "weather", description: "weather", schema: z.object({ city: z.string() }) },
    );
    const checkpointer = create();
    const agent = createToolCallingAgent({
      model: new ScriptedChatModel([
        new AIMessage({
          content: "",
          tool_calls: [{ id: "w1", name: "weather", args: { city: "Oslo" }, type: "tool_call" }],
        }),
        new AIMessage("It rains."),
      ]),
      tools: [weather],
      checkpointer,
    });
    const result = await agent.invoke(
      { messages: [new HumanMessage("Weather in Oslo?")] },
      { threadId: "t" },
    );
    expect(contents(result.messages)).toEqual([
      ["human", "Weather in Oslo?"],
      ["ai", ""],
      ["tool", "rain in Oslo"],
      ["ai", "It rains."],
    ]);
    expect((result.messages[2] as ToolMessage).artifact).toEqual({ mm: 12 });
    expect((await agent.getState("t"))?.pendingToolCalls).toEqual([]);
  });

  it("gives a key that several calls write all their values: a reducer takes them, a last value refuses", async () => {
    const note = (name: string) =>
      tool(async () => new Command({ update: { notes: `${name} noted`, route: name } }), {
        name,
        description: name,
        schema: z.object({}),
      });
    const build = (State: typeof WithNotes | typeof WithNoteOnly) =>
      new StateGraph(State)
        .addNode("tools", toolNode([note("a"), note("b")]))
        .addEdge(START, "tools")
        .addEdge("tools", END)
        .compile({ checkpointer: create() });
    const input = { messages: [ask(["c1", "a"], ["c2", "b"])] };
    const listed = await build(WithNoteOnly).invoke(input, { threadId: "t" });
    expect(listed.notes).toEqual(["a noted", "b noted"]);
    await expect(build(WithNotes).invoke(input, { threadId: "t" })).rejects.toMatchObject({
      code: "INVALID_UPDATE",
    });
  });
});
