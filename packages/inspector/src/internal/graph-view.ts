import { newestShape, storedIdentity } from "@waypoint/core/inspect";
import type { StoreReader } from "./store-reader.js";

/**
 * What `GET /api/threads/:id/graph` returns: the thread's graph as Mermaid text
 * when the inspector has the graph, its nodes, and the nodes planned to run next.
 *
 * @experimental
 */
export interface GraphView {
  readonly name: string | null;
  readonly version: string | number | null;
  /** "graphs": drawn by the compiled graph given to the inspector; "metadata": its nodes as the store recorded them (no edges). */
  readonly source: "graphs" | "metadata" | "none";
  readonly mermaid: string | null;
  /** Every node, in declaration order. */
  readonly nodes: readonly string[];
  /** Nodes of the head's planned tasks, marked in the drawing. */
  readonly current: readonly string[];
}

export async function graphViewOf(reader: StoreReader, threadId: string): Promise<GraphView> {
  const headers = await reader.headers(threadId);
  const head = headers[headers.length - 1]!;
  const { name, graph } = reader.graphFor(headers);
  const version = storedIdentity(head.metadata)?.version ?? null;
  const current = [...new Set(head.next.map((task) => task.node))];
  // drawMermaid names user nodes n0, n1… in declaration order.
  let nodes: readonly string[];
  let text: string;
  let source: GraphView["source"];
  if (graph !== undefined) {
    nodes = graph.spec.shape.nodes;
    text = graph.drawMermaid();
    source = "graphs";
  } else {
    const shape = newestShape(headers);
    if (shape === undefined)
      return { name, version, source: "none", mermaid: null, nodes: [], current };
    nodes = shape.nodes;
    text = ["flowchart TD", ...nodes.map((node, i) => `  n${i}[${quote(node)}]`)].join("\n");
    source = "metadata";
  }
  const marked = current.map((node) => nodes.indexOf(node)).filter((i) => i >= 0);
  if (marked.length > 0) {
    text += `\n  classDef current fill:#fde68a,stroke:#b45309,stroke-width:2px`;
    text += `\n  class ${marked.map((i) => `n${i}`).join(",")} current`;
  }
  return { name, version, source, mermaid: text, nodes, current };
}

function quote(text: string): string {
  return `"${text.replace(/["#<>`]/g, (char) => `#${char.charCodeAt(0)};`).replace(/\s+/g, " ")}"`;
}
