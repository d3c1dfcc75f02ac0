import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage, HumanMessage, isAIMessage, isHumanMessage } from "@langchain/core/messages";
import { MemoryCheckpointer, createSerializer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { END, START, StateGraph, defineState } from "@waypoint/core";
import { afterAll, describe, expect, it } from "vitest";
import { messages } from "../src/index.js";

const directory = mkdtempSync(join(tmpdir(), "waypoint-messages-serializer-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const State = defineState({ messages: messages() });

function chat(checkpointer?: MemoryCheckpointer | SqliteCheckpointer) {
  const builder = new StateGraph(State)
    .addNode("reply", () => ({ messages: [new AIMessage({ content: "hello", id: "ai-1" })] }))
    .addEdge(START, "reply")
    .addEdge("reply", END);
  return checkpointer === undefined ? builder.compile() : builder.compile({ checkpointer });
}

describe("a messages() channel brings the serializer plug-in its values need", () => {
  it("runs on a graph compiled without a checkpointer", async () => {
    const result = await chat().invoke({
      messages: [new HumanMessage({ content: "hi", id: "h-1" })],
    });
    expect(result.messages.map((m) => m.content)).toEqual(["hi", "hello"]);
  });

  it("runs on stores built without langchainSerializer(), and reads messages back as message classes in a new instance", async () => {
    const file = join(directory, "plain.db");
    const stores = [
      () => new MemoryCheckpointer({ serializer: createSerializer() }),
      () => new SqliteCheckpointer(file),
    ];
    for (const make of stores) {
      const first = make();
      await chat(first).invoke(
        { messages: [new HumanMessage({ content: "hi", id: "h-1" })] },
        { threadId: "t" },
      );
      // SQLite: a new instance with a new serializer, as a new process has, reads it before any run.
      const reader = first instanceof SqliteCheckpointer ? new SqliteCheckpointer(file) : first;
      const state = await chat(reader).getState("t");
      const [human, ai] = state!.values.messages;
      expect(human !== undefined && isHumanMessage(human)).toBe(true);
      expect(ai !== undefined && isAIMessage(ai)).toBe(true);
      expect(ai?.content).toBe("hello");
      if (reader !== first) await reader.close();
      await first.close();
    }
  });
});
