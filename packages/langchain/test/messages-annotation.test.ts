import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { describe, expect, it } from "vitest";
import { END, START, StateGraph, defineState, lastValue } from "@waypoint/core";
import { MessagesAnnotation } from "@waypoint/langchain";
import { STORES } from "./support/stores.js";

describe.each(STORES)("MessagesAnnotation ($name)", (store) => {
  it("is a { messages } state merged by id, and spreads into a larger state", async () => {
    const State = defineState({ ...MessagesAnnotation, topic: lastValue<string>() });
    const graph = new StateGraph(State)
      .addNode("answer", (state) => ({
        messages: [
          new HumanMessage({
            content: `${state.messages[0]?.content as string} (edited)`,
            id: "h",
          }),
          new AIMessage({ content: "hello", id: "a" }),
        ],
        topic: "greeting",
      }))
      .addEdge(START, "answer")
      .addEdge("answer", END)
      .compile({ checkpointer: store.create() });
    const result = await graph.invoke(
      { messages: [new HumanMessage({ content: "hi", id: "h" })] },
      { threadId: "t" },
    );
    expect(result.messages.map((m) => [m.id, m.content])).toEqual([
      ["h", "hi (edited)"],
      ["a", "hello"],
    ]);
    expect(result.topic).toBe("greeting");
    const reloaded = await graph.getState("t");
    expect(reloaded?.values.messages[1]).toBeInstanceOf(AIMessage);
  });
});
