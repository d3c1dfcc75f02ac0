import {
  Annotation,
  type BaseCheckpointSaver,
  END as LANGGRAPH_END,
  START as LANGGRAPH_START,
  StateGraph as LangGraphStateGraph,
} from "@langchain/langgraph";

import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { PostgresCheckpointer } from "@waypoint/checkpoint-postgres";
import { WaypointSaver } from "@waypoint/langgraph-saver";
import type pg from "pg";
import { RECURSION_LIMIT, nodesOf, type Runner, type Shape } from "./workloads.js";

/**
 * The PostgreSQL suite's LangGraph.js side: the same graphs as Waypoint's
 * (one list channel each node appends to) on PostgresSaver, durability
 * "sync". The suite runs it in a child process of its own (side-process.ts).
 */
export async function openLangGraphPostgres(
  pool: pg.Pool,
  schema: string,
  shape: Shape,
): Promise<Runner> {
  const saver = new PostgresSaver(pool, undefined, { schema });
  await saver.setup();
  return langGraphRunner(saver, shape);
}

/**
 * The same LangGraph.js graphs on Waypoint's store through
 * `@waypoint/langgraph-saver` (issue 23): the one-line change a LangGraph
 * app makes, next to LangGraph's own saver in the same run.
 */
export async function openLangGraphWaypointSaver(
  pool: pg.Pool,
  schema: string,
  shape: Shape,
): Promise<Runner> {
  const checkpointer = new PostgresCheckpointer({ pool, schema });
  await checkpointer.setup();
  return langGraphRunner(new WaypointSaver(checkpointer), shape);
}

/** LangGraph.js's graph of `shape` on `saver`, durability "sync". */
export function langGraphRunner(saver: BaseCheckpointSaver, shape: Shape): Runner {
  const State = Annotation.Root({
    log: Annotation<string[], string>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  const { names, append } = nodesOf(shape);
  const builder = new LangGraphStateGraph(State).addNode(
    Object.fromEntries(names.map((name) => [name, append])),
  );
  builder.addEdge(LANGGRAPH_START, names[0]!);
  if (shape.kind === "chain") {
    for (let i = 1; i < names.length; i += 1) builder.addEdge(names[i - 1]!, names[i]!);
    builder.addEdge(names[names.length - 1]!, LANGGRAPH_END);
  } else {
    builder.addConditionalEdges("append", (state) =>
      state.log.length >= shape.steps ? LANGGRAPH_END : "append",
    );
  }
  const graph = builder.compile({ checkpointer: saver });
  const config = (threadId: string) => ({ configurable: { thread_id: threadId } });
  return {
    async run(threadId) {
      // LangGraph's default durability is "async"; "sync" matches Waypoint's.
      const options = {
        ...config(threadId),
        durability: "sync",
        recursionLimit: RECURSION_LIMIT,
      } as const;
      return ((await graph.invoke({}, options)) as { log: string[] }).log;
    },
    async load(threadId) {
      const snapshot = await graph.getState(config(threadId));
      return (snapshot.values as { log?: string[] }).log ?? [];
    },
  };
}
