import { COPY, Client, Command } from "@waypoint/core";
import { ApiError, invalid } from "./api-error.js";
import { toJson } from "./json-value.js";
import type { AnyGraph, StoreReader } from "./store-reader.js";

/**
 * What an action did: run in this process with the graph the inspector was
 * given, or queued as a run for workers when it has no such graph.
 */
export type ActionResult =
  | { readonly done: "in-process"; readonly checkpointId?: string; readonly values?: unknown }
  | { readonly done: "queued"; readonly run: unknown };

async function graphOf(reader: StoreReader, threadId: string) {
  const headers = await reader.headers(threadId);
  return { ...reader.graphFor(headers), head: headers[headers.length - 1]! };
}

function requireGraph(graph: AnyGraph | undefined, name: string | null, what: string): AnyGraph {
  if (graph !== undefined) return graph;
  throw new ApiError(
    400,
    "INVALID_ARGUMENT",
    `${what} runs the graph's code, and the inspector was not given graph "${name ?? "?"}" (start it with --graphs <module>).`,
  );
}

/** Answers the thread's pending interrupt(s) with `resume`. */
export async function answerInterrupt(
  reader: StoreReader,
  threadId: string,
  resume: unknown,
): Promise<ActionResult> {
  const { name, graph, head } = await graphOf(reader, threadId);
  if (head.next.length === 0) {
    throw new ApiError(409, "RUN_STATE", `Thread "${threadId}" is finished: nothing to answer.`);
  }
  if (graph !== undefined) {
    const values = await graph.invoke(new Command({ resume }), { threadId });
    return { done: "in-process", values: toJson(values) };
  }
  if (name === null) {
    throw invalid(
      `Thread "${threadId}" records no graph name, so no worker can take a run for it.`,
    );
  }
  const run = await new Client({ checkpointer: reader.checkpointer }).runs.create(
    threadId,
    new Command({ resume }),
    { graph: name },
  );
  return { done: "queued", run: toJson(run) };
}

/** `updateState` as a node (or a plain edit), from the head or an older checkpoint. */
export async function editState(
  reader: StoreReader,
  threadId: string,
  body: { values: unknown; asNode?: string; checkpointId?: string },
): Promise<ActionResult> {
  if (body.values === null || typeof body.values !== "object" || Array.isArray(body.values)) {
    throw invalid("values must be a JSON object of state keys");
  }
  const { name, graph } = await graphOf(reader, threadId);
  const target = requireGraph(graph, name, "Editing state");
  const checkpointId = await target.updateState(threadId, body.values, {
    ...(body.asNode !== undefined ? { asNode: body.asNode } : {}),
    ...(body.checkpointId !== undefined ? { checkpointId: body.checkpointId } : {}),
  });
  return { done: "in-process", checkpointId };
}

/** A new head with the state and plan of `checkpointId`, whose tasks run afresh. */
export async function fork(
  reader: StoreReader,
  threadId: string,
  checkpointId: string,
): Promise<ActionResult> {
  const { name, graph } = await graphOf(reader, threadId);
  const target = requireGraph(graph, name, "Forking");
  const id = await target.updateState(threadId, null, { checkpointId, asNode: COPY });
  return { done: "in-process", checkpointId: id };
}
