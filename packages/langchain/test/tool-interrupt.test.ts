import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage, HumanMessage, type ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { Command, interrupt } from "@waypoint/core";
import { createToolCallingAgent, langchainSerializer } from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";

const directory = mkdtempSync(join(tmpdir(), "waypoint-tool-interrupt-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;

const backends: { name: string; create: () => Checkpointer }[] = [
  { name: "memory", create: () => new MemoryCheckpointer({ serializer: langchainSerializer() }) },
  {
    name: "sqlite",
    create: () =>
      new SqliteCheckpointer(join(directory, `tools-${++files}.db`), {
        serializer: langchainSerializer(),
      }),
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An AI message asking for each [id, tool, args] call, in this order. */
function ask(...calls: [string, string, Record<string, unknown>][]): AIMessage {
  return new AIMessage({
    content: "",
    tool_calls: calls.map(([id, name, args]) => ({ id, name, args, type: "tool_call" as const })),
  });
}

function toolMessages(messages: readonly unknown[]): [string, unknown][] {
  return (messages as ToolMessage[])
    .filter((m) => m.getType() === "tool")
    .map((m) => [m.tool_call_id, m.content]);
}

describe.each(backends)("interrupt() inside a tool run by toolNode ($name)", ({ create }) => {
  it("pauses the graph, and the resume runs only the paused call again", async () => {
    const executions = { a: 0, c: 0 };
    const counted = (name: "a" | "c", delayMs: number) =>
      tool(
        async () => {
          executions[name] += 1;
          // Still running when B interrupts: its result must be recorded before the pause.
          await sleep(delayMs);
          return `${name} done`;
        },
        { name, description: name, schema: z.object({}) },
      );
    const approve = tool(async () => `b: ${interrupt<string>("approve?")}`, {
      name: "b",
      description: "asks a human",
      schema: z.object({}),
    });
    const checkpointer = create();
    const agent = createToolCallingAgent({
      model: new ScriptedChatModel([
        ask(["call-a", "a", {}], ["call-b", "b", {}], ["call-c", "c", {}]),
        new AIMessage("all three done"),
      ]),
      tools: [counted("a", 30), approve, counted("c", 5)],
      checkpointer,
    });
    const thread = { threadId: "t" };
    try {
      const paused = await agent.invoke({ messages: [new HumanMessage("go")] }, thread);
      expect(paused.__interrupt__).toHaveLength(1);
      expect(paused.__interrupt__![0]).toMatchObject({
        value: "approve?",
        node: "tools",
        kind: "dynamic",
      });
      // Paused, not answered with an error ToolMessage.
      expect(toolMessages(paused.messages)).toEqual([]);

      const state = await agent.getState("t");
      expect(state?.next).toEqual(["tools"]);
      expect(state?.interrupts.map((i) => i.id)).toEqual([paused.__interrupt__![0]!.id]);
      expect(state?.pendingToolCalls.map((c) => [c.id, c.recorded?.ok ?? null])).toEqual([
        ["call-a", true],
        ["call-b", null],
        ["call-c", true],
      ]);

      const done = await agent.invoke(new Command({ resume: "yes" }), thread);
      expect(done.__interrupt__).toBeUndefined();
      expect(toolMessages(done.messages)).toEqual([
        ["call-a", "a done"],
        ["call-b", "b: yes"],
        ["call-c", "c done"],
      ]);
      expect(done.messages.at(-1)?.content).toBe("all three done");
      expect(executions).toEqual({ a: 1, c: 1 });
    } finally {
      await checkpointer.close();
    }
  });

  it("reports every call that interrupted, in call order, each answerable by its id", async () => {
    const reached: string[] = [];
    // Which call reaches interrupt() last: ids must not depend on the order calls reach it.
    let slow = "budget";
    const question = tool(
      async ({ topic }: { topic: string }) => {
        await sleep(topic === slow ? 20 : 0);
        reached.push(topic);
        return `${topic}: ${interrupt<string>(`${topic}?`)}`;
      },
      {
        name: "question",
        description: "asks a human",
        schema: z.object({ topic: z.string() }),
      },
    );
    const checkpointer = create();
    const agent = createToolCallingAgent({
      model: new ScriptedChatModel([
        ask(["call-1", "question", { topic: "budget" }], ["call-2", "question", { topic: "date" }]),
        new AIMessage("planned"),
      ]),
      tools: [question],
      checkpointer,
    });
    const thread = { threadId: "t" };
    try {
      const paused = await agent.invoke({ messages: [new HumanMessage("plan")] }, thread);
      expect(reached).toEqual(["date", "budget"]);
      expect(paused.__interrupt__?.map((i) => i.value)).toEqual(["budget?", "date?"]);
      const [budget, date] = paused.__interrupt__!;
      expect(budget!.id).not.toBe(date!.id);
      expect((await agent.getState("t"))?.interrupts.map((i) => i.id)).toEqual([
        budget!.id,
        date!.id,
      ]);

      // One answered: the other still waits, under the same id.
      const partly = await agent.invoke(new Command({ resume: { [date!.id]: "May 3" } }), thread);
      expect(partly.__interrupt__?.map((i) => [i.id, i.value])).toEqual([[budget!.id, "budget?"]]);
      expect(toolMessages(partly.messages)).toEqual([]);

      // Both answered: the node runs again, the calls reaching interrupt() in the other order.
      slow = "date";
      const done = await agent.invoke(new Command({ resume: { [budget!.id]: "2k" } }), thread);
      expect(reached).toEqual(["date", "budget", "budget", "date"]);
      expect(done.__interrupt__).toBeUndefined();
      expect(toolMessages(done.messages)).toEqual([
        ["call-1", "budget: 2k"],
        ["call-2", "date: May 3"],
      ]);
      expect(done.messages.at(-1)?.content).toBe("planned");
    } finally {
      await checkpointer.close();
    }
  });
});
