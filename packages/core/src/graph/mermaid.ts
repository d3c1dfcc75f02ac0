/** What `drawMermaid` needs to know about a graph; the builder derives it from its nodes and edges. */
export interface GraphShape {
  /** User nodes in declaration order. */
  readonly nodes: readonly string[];
  /** Plain edges; `from` may be "__start__" and `to` may be "__end__". */
  readonly edges: readonly { from: string; to: string }[];
  /** Fan-in: `to` waits for all of `from`. */
  readonly joins: readonly { from: readonly string[]; to: string }[];
  /**
   * Conditional edges: the targets the router may pick (may include
   * "__end__"); `labels` maps a target to its path-map key when one was given.
   */
  readonly branches: readonly {
    from: string;
    targets: readonly string[];
    labels?: Readonly<Record<string, string>>;
  }[];
}

const START = "__start__";
const END = "__end__";

/**
 * Renders a graph as a Mermaid `flowchart TD`. Node names are arbitrary
 * strings, so every user node gets a generated id (`n0`, `n1`… in declaration
 * order) and its name only ever appears quoted, as a label. Lines follow the
 * input order, so the same shape always gives the same text.
 */
export function drawMermaid(graph: GraphShape): string {
  const ids = new Map<string, string>();
  for (const name of graph.nodes) {
    if (!ids.has(name)) ids.set(name, `n${ids.size}`);
  }
  const referenced = new Set<string>();
  const idOf = (name: string): string => {
    if (name === START || name === END) {
      referenced.add(name);
      return name;
    }
    const id = ids.get(name);
    if (id === undefined) throw new Error(`drawMermaid: an edge refers to unknown node "${name}"`);
    return id;
  };

  const edgeLines: string[] = [];
  for (const { from, to } of graph.edges) {
    edgeLines.push(`${idOf(from)} --> ${idOf(to)}`);
  }
  for (const { from, to } of graph.joins) {
    const label = quote(`all of: ${from.join(", ")}`);
    for (const source of from) edgeLines.push(`${idOf(source)} -- ${label} --> ${idOf(to)}`);
  }
  for (const { from, targets, labels } of graph.branches) {
    for (const target of targets) {
      const label = labels === undefined ? undefined : ownValue(labels, target);
      const arrow = label === undefined ? "-.->" : `-. ${quote(label)} .->`;
      edgeLines.push(`${idOf(from)} ${arrow} ${idOf(target)}`);
    }
  }

  // Terminals are drawn only when an edge uses them, so a graph that never ends has no END box.
  const nodeLines: string[] = [];
  if (referenced.has(START)) nodeLines.push(`${START}([START])`);
  for (const [name, id] of ids) nodeLines.push(`${id}[${quote(name)}]`);
  if (referenced.has(END)) nodeLines.push(`${END}([END])`);

  return ["flowchart TD", ...[...nodeLines, ...edgeLines].map((line) => `  ${line}`)].join("\n");
}

// Names can hold any text. A quoted Mermaid label ends at `"`, `#` starts an
// entity code, and `<`, `>` and backticks switch on HTML or markdown labels,
// so all of these become entity codes.
function quote(text: string): string {
  const escaped = text
    .replace(/["#<>`]/g, (char) => `#${char.charCodeAt(0)};`)
    .replace(/\r\n|\r|\n/g, " ");
  return `"${escaped}"`;
}

// A plain lookup would find inherited keys such as "constructor" for a target of that name.
function ownValue(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
