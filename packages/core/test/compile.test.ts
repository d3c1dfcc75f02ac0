import { describe, expect, it } from "vitest";
import {
  END,
  GraphValidationError,
  START,
  StateGraph,
  defineState,
  lastValue,
} from "@waypoint/core";

const State = defineState({ value: lastValue<string>() });
const noop = () => ({});

function compileError(
  build: (g: StateGraph<typeof State>) => StateGraph<typeof State>,
): GraphValidationError {
  try {
    build(new StateGraph(State)).compile();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphValidationError);
    expect((error as GraphValidationError).code).toBe("INVALID_GRAPH");
    return error as GraphValidationError;
  }
  throw new Error("compile() did not fail");
}

describe("compile errors name the problem", () => {
  it("an edge to an unknown node", () => {
    const error = compileError((g) => g.addNode("a", noop).addEdge(START, "a").addEdge("a", "b"));
    expect(error.message).toMatch(/unknown node "b" \(nodes: a\)/);
  });

  it("a node with no way out", () => {
    const error = compileError((g) =>
      g.addNode("a", noop).addNode("b", noop).addEdge(START, "a").addEdge("a", "b"),
    );
    expect(error.message).toMatch(/node "b" has no way out/);
  });

  it("an unreachable node", () => {
    const error = compileError((g) =>
      g
        .addNode("a", noop)
        .addNode("island", noop)
        .addEdge(START, "a")
        .addEdge("a", END)
        .addEdge("island", END),
    );
    expect(error.message).toMatch(/unreachable from START: "island"/);
  });

  it("a duplicate name", () => {
    const error = compileError((g) =>
      g.addNode("a", noop).addNode("a", noop).addEdge(START, "a").addEdge("a", END),
    );
    expect(error.message).toMatch(/node "a" is added twice/);
  });

  it("reserved names", () => {
    for (const name of [START, END, "__secret", "a:b", "value"]) {
      const error = compileError((g) =>
        g.addNode(name, noop).addEdge(START, name).addEdge(name, END),
      );
      expect(error.message).toMatch(/reserved|name of a state key/);
    }
  });

  it("no entry point", () => {
    expect(compileError((g) => g.addNode("a", noop).addEdge("a", END)).message).toMatch(/no entry/);
  });

  it("a path map target or a static interrupt that is not a node", () => {
    expect(
      compileError((g) =>
        g
          .addNode("a", noop)
          .addEdge(START, "a")
          .addConditionalEdges("a", () => "x", { x: "ghost" }),
      ).message,
    ).toMatch(/path map of "a" names unknown node "ghost"/);
    expect(() =>
      new StateGraph(State)
        .addNode("a", noop)
        .addEdge(START, "a")
        .addEdge("a", END)
        .compile({ interruptBefore: ["b"] }),
    ).toThrow(/interruptBefore\/interruptAfter names unknown node "b"/);
  });

  it("accepts a router without a path map even though it cannot see where it goes", () => {
    expect(() =>
      new StateGraph(State)
        .addNode("a", noop)
        .addNode("b", noop)
        .addEdge(START, "a")
        .addConditionalEdges("a", () => "b")
        .addEdge("b", END)
        .compile(),
    ).not.toThrow();
  });
});

describe("drawMermaid", () => {
  it("draws the compiled graph's nodes and edges", () => {
    const text = new StateGraph(State)
      .addNode("plan", noop)
      .addNode("act", noop)
      .addEdge(START, "plan")
      .addConditionalEdges("plan", () => "act", { go: "act", stop: END })
      .addEdge("act", "plan")
      .compile()
      .drawMermaid();
    expect(text.startsWith("flowchart TD")).toBe(true);
    expect(text).toContain("START");
    expect(text).toContain("END");
    expect(text).toMatch(/"plan"/);
    expect(text).toMatch(/-\. "go" \.->/);
  });
});
