import {
  Annotation,
  END as LANGGRAPH_END,
  START as LANGGRAPH_START,
  StateGraph as LangGraphStateGraph,
  type BaseCheckpointSaver,
} from "@langchain/langgraph";
import { NODES, names, payloads, type Invoke } from "./memory-chain.js";

/** memory-chain.ts's chain on LangGraph.js, with `saver`. */
export function langGraphChain(saver: BaseCheckpointSaver): Invoke {
  const State = Annotation.Root({
    log: Annotation<string[], string>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  const builder = new LangGraphStateGraph(State).addNode(
    Object.fromEntries(names.map((name, i) => [name, () => ({ log: payloads[i]! })])),
  );
  builder.addEdge(LANGGRAPH_START, names[0]!);
  for (let i = 1; i < NODES; i += 1) builder.addEdge(names[i - 1]!, names[i]!);
  builder.addEdge(names[NODES - 1]!, LANGGRAPH_END);
  const graph = builder.compile({ checkpointer: saver });
  return async (threadId) => {
    // LangGraph's default durability is "async"; "sync" matches Waypoint's.
    const result = await graph.invoke(
      {},
      { configurable: { thread_id: threadId }, durability: "sync" },
    );
    return result.log;
  };
}
