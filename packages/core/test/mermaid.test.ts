import { describe, expect, it } from "vitest";
import { drawMermaid, type GraphShape } from "../src/graph/mermaid.js";

describe("drawMermaid", () => {
  it("draws a small graph exactly", () => {
    const graph: GraphShape = {
      nodes: ["agent", "call tool"],
      edges: [
        { from: "__start__", to: "agent" },
        { from: "call tool", to: "agent" },
      ],
      joins: [],
      branches: [
        {
          from: "agent",
          targets: ["call tool", "__end__"],
          labels: { "call tool": "tools", __end__: "done" },
        },
      ],
    };
    expect(drawMermaid(graph)).toBe(
      [
        "flowchart TD",
        "  __start__([START])",
        '  n0["agent"]',
        '  n1["call tool"]',
        "  __end__([END])",
        "  __start__ --> n0",
        "  n1 --> n0",
        '  n0 -. "tools" .-> n1',
        '  n0 -. "done" .-> __end__',
      ].join("\n"),
    );
  });

  describe("a graph with a fan-in join and awkward names", () => {
    const graph: GraphShape = {
      nodes: ["plan", 'say "hi"', "search #1", "end", "merge"],
      edges: [
        { from: "__start__", to: "plan" },
        { from: "merge", to: "__end__" },
      ],
      joins: [{ from: ['say "hi"', "search #1"], to: "merge" }],
      branches: [
        { from: "plan", targets: ['say "hi"', "search #1"] },
        { from: "end", targets: ["plan", "__end__"], labels: { plan: "again" } },
      ],
    };
    const text = drawMermaid(graph);
    const lines = text.split("\n");

    it("starts with the flowchart header and gives every node a generated id", () => {
      expect(lines[0]).toBe("flowchart TD");
      expect(lines).toContain('  n0["plan"]');
      expect(lines).toContain('  n3["end"]');
      expect(lines).toContain('  n4["merge"]');
    });

    it("escapes characters that would break a quoted label", () => {
      expect(lines).toContain('  n1["say #34;hi#34;"]');
      expect(lines).toContain('  n2["search #35;1"]');
      // Raw names never appear outside a label.
      expect(text).not.toContain('"hi"');
    });

    it("draws the join as one labelled solid edge per source", () => {
      const label = '"all of: say #34;hi#34;, search #35;1"';
      expect(lines).toContain(`  n1 -- ${label} --> n4`);
      expect(lines).toContain(`  n2 -- ${label} --> n4`);
    });

    it("draws conditional edges dotted, labelled only where a path-map key exists", () => {
      expect(lines).toContain("  n0 -.-> n1");
      expect(lines).toContain("  n0 -.-> n2");
      expect(lines).toContain('  n3 -. "again" .-> n0');
      expect(lines).toContain("  n3 -.-> __end__");
    });

    it("draws both terminals once and is deterministic", () => {
      expect(lines.filter((line) => line.includes("([START])"))).toHaveLength(1);
      expect(lines.filter((line) => line.includes("([END])"))).toHaveLength(1);
      expect(drawMermaid(graph)).toBe(text);
    });
  });

  it("leaves END out when nothing reaches it", () => {
    const text = drawMermaid({
      nodes: ["loop"],
      edges: [
        { from: "__start__", to: "loop" },
        { from: "loop", to: "loop" },
      ],
      joins: [],
      branches: [],
    });
    expect(text).not.toContain("__end__");
  });

  it("rejects an edge to a node that was not declared", () => {
    expect(() =>
      drawMermaid({
        nodes: [],
        edges: [{ from: "__start__", to: "ghost" }],
        joins: [],
        branches: [],
      }),
    ).toThrow(/unknown node "ghost"/);
  });

  it("does not take inherited keys for path-map labels", () => {
    const text = drawMermaid({
      nodes: ["constructor"],
      edges: [],
      joins: [],
      branches: [{ from: "constructor", targets: ["constructor"], labels: {} }],
    });
    expect(text).toContain("  n0 -.-> n0");
  });
});
