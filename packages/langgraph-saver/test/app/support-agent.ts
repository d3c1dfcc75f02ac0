/**
 * An ordinary LangGraph.js app: a tool-calling agent whose tool asks a human
 * before it acts (`interrupt`). Only the checkpointer line is Waypoint's.
 *
 *   tsx support-agent.ts <postgres|redis> <url> <schema or prefix> <thread> start|resume
 *
 * Prints each streamed update as one JSON line.
 */
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import {
  Command,
  END,
  MessagesAnnotation,
  START,
  StateGraph,
  interrupt,
} from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { openStore } from "./open-store.js";
import { WaypointSaver } from "../../src/index.js";

const [backend, url, scope, threadId, mode] = process.argv.slice(2) as [
  "postgres" | "redis",
  string,
  string,
  string,
  "start" | "resume",
];

const refund = tool(
  (input: { order: string; amount: number }) => {
    const answer: unknown = interrupt({
      question: `Refund ${input.amount} on order ${input.order}?`,
    });
    return answer === "yes" ? `refunded ${input.amount} on ${input.order}` : "refund declined";
  },
  {
    name: "refund",
    description: "Refunds an order after a human approves it.",
    schema: {
      type: "object",
      properties: { order: { type: "string" }, amount: { type: "number" } },
      required: ["order", "amount"],
    },
  },
);

// A scripted model: it calls the tool once, then answers with the tool's result.
function agent(state: typeof MessagesAnnotation.State) {
  const last = state.messages.at(-1);
  if (last instanceof ToolMessage) {
    return {
      messages: [new AIMessage({ content: `Done: ${last.text}`, id: "answer" })],
    };
  }
  return {
    messages: [
      new AIMessage({
        content: "",
        id: "call",
        tool_calls: [{ id: "call_1", name: "refund", args: { order: "A-17", amount: 40 } }],
      }),
    ],
  };
}

const graph = new StateGraph(MessagesAnnotation)
  .addNode("agent", agent)
  .addNode("tools", new ToolNode([refund]))
  .addEdge(START, "agent")
  .addConditionalEdges("agent", toolsCondition, ["tools", END])
  .addEdge("tools", "agent");

const store = await openStore(backend, url, scope);
const app = graph.compile({ checkpointer: new WaypointSaver(store) });
const config = { configurable: { thread_id: threadId } };
const options = { ...config, streamMode: "updates" as const };
const stream =
  mode === "start"
    ? await app.stream(
        { messages: [{ role: "user", content: "Please refund order A-17", id: "ask" }] },
        options,
      )
    : await app.stream(new Command({ resume: "yes" }), options);
for await (const update of stream) console.log(JSON.stringify(update));
await store.close();
