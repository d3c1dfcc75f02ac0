import { END, START } from "../constants.js";
import type { GraphShape } from "./mermaid.js";

/** `getGraph()`: a compiled graph's nodes and edges, START and END included, as LangGraph lists them. */
export interface GraphDrawing {
  readonly nodes: readonly { readonly id: string }[];
  readonly edges: readonly {
    readonly source: string;
    readonly target: string;
    /** Whether a router picks it (a conditional edge), rather than it always being taken. */
    readonly conditional: boolean;
  }[];
}

export function graphDrawing(shape: GraphShape): GraphDrawing {
  return {
    nodes: [START, ...shape.nodes, END].map((id) => ({ id })),
    edges: [
      ...shape.edges.map((e) => ({ source: e.from, target: e.to, conditional: false })),
      ...shape.joins.flatMap((j) =>
        j.from.map((source) => ({ source, target: j.to, conditional: false })),
      ),
      ...shape.branches.flatMap((b) =>
        b.targets.map((target) => ({ source: b.from, target, conditional: true })),
      ),
    ],
  };
}
