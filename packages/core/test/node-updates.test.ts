import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Command, END, START, StateGraph, defineState, lastValue } from "@waypoint/core";
import { STORES, appendLog } from "./support/stores.js";

const State = defineState({ log: appendLog(), note: lastValue<string>() });

describe.each(STORES)("updates as LangGraph allows them, on $name", (store) => {
  const single = (run: () => unknown) =>
    new StateGraph(State)
      .addNode("n", run as () => undefined, { ends: ["next"] })
      .addNode("next", () => ({ log: "next" }))
      .addEdge(START, "n")
      .addEdge("n", END)
      .addEdge("next", END)
      .compile({ checkpointer: store.create() });

  it("a node may return [update, Command]: both updates and the goto are applied", async () => {
    const graph = single(() => [
      { log: "plain", note: "kept" },
      new Command({ update: { log: "command" }, goto: "next" }),
    ]);
    const result = await graph.invoke({}, { threadId: "t" });
    expect(result.log).toEqual(["plain", "command", "next"]);
    expect(result.note).toBe("kept");
  });

  it("Command({ update: [[key, value], …] }) writes a reducer key twice in one step, in order", async () => {
    const graph = single(
      () =>
        new Command({
          update: [
            ["log", "first"],
            ["log", "second"],
            ["note", "n"],
          ],
          goto: "next",
        }),
    );
    const result = await graph.invoke({}, { threadId: "t" });
    expect(result.log).toEqual(["first", "second", "next"]);
    expect(result.note).toBe("n");
  });

  it("a last-value key written twice is INVALID_UPDATE, and the step is not committed", async () => {
    const graph = single(
      () =>
        new Command({
          update: [
            ["note", "a"],
            ["note", "b"],
          ],
        }),
    );
    await expect(graph.invoke({ note: "in" }, { threadId: "t" })).rejects.toMatchObject({
      code: "INVALID_UPDATE",
    });
    const state = await graph.getState("t");
    expect(state?.values.note).toBe("in");
    expect(state?.next).toEqual(["n"]);
  });

  it.each([
    ["a pair that is not [key, value]", () => new Command({ update: [["log"]] as never })],
    ["an unknown key in a pair", () => new Command({ update: [["nope", 1]] })],
    ["a nested array in a list", () => [{ log: "a" }, [["log", "b"]]]],
    ["Command.PARENT inside a list", () => [new Command({ graph: Command.PARENT, goto: "x" })]],
    ["a list of numbers", () => [1, 2]],
  ])("%s is INVALID_UPDATE", async (_name, run) => {
    const graph = single(run);
    await expect(graph.invoke({ log: "in" }, { threadId: "t" })).rejects.toMatchObject({
      code: "INVALID_UPDATE",
    });
    expect((await graph.getState("t"))?.values.log).toEqual(["in"]);
  });
});

describe("updates as LangGraph allows them (property)", () => {
  it("any mix of objects and Commands with pair lists appends every value in order", async () => {
    const part = fc.oneof(
      fc.string({ maxLength: 3 }).map((line) => ({ kind: "object" as const, lines: [line] })),
      fc
        .array(fc.string({ maxLength: 3 }), { maxLength: 4 })
        .map((lines) => ({ kind: "pairs" as const, lines })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 5 }), async (parts) => {
        const graph = new StateGraph(State)
          .addNode("n", (): ({ log?: string } | Command<{ log?: string }>)[] =>
            parts.map((p) =>
              p.kind === "object"
                ? { log: p.lines[0] }
                : new Command<{ log?: string }>({
                    update: p.lines.map((line) => ["log", line] as const),
                  }),
            ),
          )
          .addEdge(START, "n")
          .addEdge("n", END)
          .compile();
        const result = await graph.invoke({});
        expect(result.log).toEqual(parts.flatMap((p) => p.lines));
      }),
      { numRuns: 100 },
    );
  });
});
