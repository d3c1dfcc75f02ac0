import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import {
  END,
  GraphValidationError,
  START,
  StateGraph,
  defineState,
  lastValue,
  reducer,
} from "@waypoint/core";

/**
 * State keys and node names become channel names in every checkpoint, so
 * compile() refuses those no checkpointer can store, and those every object
 * inherits (`toString`, `constructor`, …), which the runtime would read from
 * its per-channel maps as if they were versions. Names next to them work.
 */

const noop = () => ({});

function compileError(build: () => { compile(): unknown }): GraphValidationError {
  let thrown: unknown;
  try {
    build().compile();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(GraphValidationError);
  expect((thrown as GraphValidationError).code).toBe("INVALID_GRAPH");
  return thrown as GraphValidationError;
}

function graphWithKey(key: string) {
  const State = defineState({ [key]: lastValue<number>(), other: lastValue<number>() });
  return new StateGraph(State).addNode("a", noop).addEdge(START, "a").addEdge("a", END);
}

function graphWithNode(name: string) {
  const State = defineState({ value: lastValue<number>() });
  return new StateGraph(State).addNode(name, noop).addEdge(START, name).addEdge(name, END);
}

describe("compile() refuses names no checkpoint can hold", () => {
  const inherited = ["toString", "hasOwnProperty", "constructor", "valueOf", "isPrototypeOf"];

  for (const key of [...inherited, "prototype"]) {
    it(`state key "${key}": every object has it`, () => {
      const error = compileError(() => graphWithKey(key));
      expect(error.message).toContain(`state key "${key}" is reserved`);
      expect(error.message).toContain("every JavaScript object");
    });
  }

  it('state key and node name "__proto__": it would set a prototype', () => {
    expect(compileError(() => graphWithKey("__proto__")).message).toMatch(
      /state key "__proto__" is reserved/,
    );
    expect(compileError(() => graphWithNode("__proto__")).message).toMatch(
      /"__proto__" is reserved: .*prototype pollution/,
    );
  });

  for (const name of ["constructor", "prototype", "toString", "hasOwnProperty"]) {
    it(`node name "${name}"`, () => {
      expect(compileError(() => graphWithNode(name)).message).toContain(
        `node name "${name}" is reserved`,
      );
    });
  }

  const unstorable: [string, string, RegExp][] = [
    ["a lone surrogate", "review-\ud800", /not well-formed Unicode/],
    ["a lone low surrogate", "\udc00", /not well-formed Unicode/],
    ["a NUL", "review\u0000", /NUL/],
    ["503 characters", "n".repeat(503), /longer than 502 characters/],
  ];
  for (const [label, name, problem] of unstorable) {
    it(`a node name holding ${label}`, () => {
      const error = compileError(() => graphWithNode(name));
      expect(error.message).toMatch(problem);
      // The message names the node escaped, so the error itself can be stored.
      expect(error.message.includes("\u0000") || /\p{Cs}/u.test(error.message)).toBe(false);
    });
  }

  it("a fan-in whose joined channel name would pass 512 characters", () => {
    const State = defineState({ value: lastValue<number>() });
    const [a, b, c] = ["a", "b", "c"].map((letter) => letter.repeat(200)) as [
      string,
      string,
      string,
    ];
    const error = compileError(() =>
      new StateGraph(State)
        .addNode(a, noop)
        .addNode(b, noop)
        .addNode(c, noop)
        .addEdge(START, a)
        .addEdge(START, b)
        .addEdge([a, b], c)
        .addEdge(c, END),
    );
    expect(error.message).toMatch(/fan-in channel "join:a+…" is longer than 512/);
  });

  it("a state key holding a lone surrogate, a NUL or 513 characters", () => {
    expect(compileError(() => graphWithKey("k\udbff")).message).toMatch(/not well-formed/);
    expect(compileError(() => graphWithKey("k\u0000")).message).toMatch(/NUL/);
    expect(compileError(() => graphWithKey("k".repeat(513))).message).toMatch(/longer than 512/);
  });
});

describe("names next to the reserved ones run, save and resume on every store", () => {
  const directory = mkdtempSync(join(tmpdir(), "waypoint-names-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const State = defineState({
    toStringValue: lastValue<number>(),
    Constructor: reducer<string[], string>(
      (all, item) => [...all, item],
      () => [],
    ),
    "has own property": lastValue<string>(),
    "emoji-\ud83d\ude00": lastValue<string>(),
  });
  const longName = "n".repeat(502);

  function build(checkpointer: Checkpointer) {
    return new StateGraph(State)
      .addNode("Prototype", (state) => ({
        toStringValue: (state.toStringValue ?? 0) + 1,
        Constructor: "Prototype",
      }))
      .addNode(longName, () => ({ Constructor: "long", "has own property": "yes" }))
      .addNode("node-\ud83d\ude00", () => ({ "emoji-\ud83d\ude00": "\ud83d\ude00" }))
      .addEdge(START, "Prototype")
      .addEdge("Prototype", longName)
      .addEdge(longName, "node-\ud83d\ude00")
      .addEdge("node-\ud83d\ude00", END)
      .compile({ checkpointer });
  }

  const stores: [string, () => Checkpointer][] = [
    ["memory", () => new MemoryCheckpointer()],
    ["sqlite", () => new SqliteCheckpointer(join(directory, "names.db"))],
  ];
  for (const [label, open] of stores) {
    it(`on ${label}`, async () => {
      const first = open();
      await build(first).invoke({ toStringValue: 10 }, { threadId: "names" });
      // A second graph over the same store (for SQLite, a new connection) resumes from storage.
      const second = label === "memory" ? first : (await first.close(), open());
      const result = await build(second).invoke({}, { threadId: "names" });
      expect(result).toEqual({
        toStringValue: 12,
        Constructor: ["Prototype", "long", "Prototype", "long"],
        "has own property": "yes",
        "emoji-\ud83d\ude00": "\ud83d\ude00",
      });
      await second.close();
    });
  }
});

const utf16Unit = fc
  .oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0, max: 0xffff }))
  .map((unit) => String.fromCharCode(unit));

describe("any thread id either runs and reads back, or is refused with INVALID_ARGUMENT", () => {
  const directory = mkdtempSync(join(tmpdir(), "waypoint-ids-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const State = defineState({ value: lastValue<string>() });

  const stores: [string, () => Checkpointer][] = [
    ["memory", () => new MemoryCheckpointer()],
    ["sqlite", () => new SqliteCheckpointer(join(directory, "ids.db"))],
  ];
  for (const [label, open] of stores) {
    it(`on ${label}`, async () => {
      const checkpointer = open();
      const graph = new StateGraph(State)
        .addNode("echo", (state) => ({ value: `${state.value}!` }))
        .addEdge(START, "echo")
        .addEdge("echo", END)
        .compile({ checkpointer });
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            // Any UTF-16 unit, lone surrogates and NUL included ("binary" draws whole code points only).
            fc.string({ unit: utf16Unit, maxLength: 12 }),
            fc.string({ unit: "binary", maxLength: 20 }),
            fc.string({ maxLength: 600 }),
          ),
          async (threadId) => {
            if (seen.has(threadId)) return;
            seen.add(threadId);
            const outcome = await graph
              .invoke({ value: "x" }, { threadId })
              .catch((error: unknown) => error);
            const storable =
              threadId.length > 0 &&
              threadId.length <= 512 &&
              !threadId.includes("\u0000") &&
              !/\p{Cs}/u.test(threadId);
            if (!storable) {
              expect((outcome as { code?: unknown }).code).toBe("INVALID_ARGUMENT");
              return;
            }
            expect(outcome).toEqual({ value: "x!" });
            const loaded = await checkpointer.get(threadId);
            expect(loaded?.checkpoint.threadId).toBe(threadId);
            expect((await graph.getState(threadId))?.values).toEqual({ value: "x!" });
          },
        ),
        { numRuns: 300, seed: 17 },
      );
      const listed = await checkpointer.listThreads({ limit: 1000 });
      for (const { threadId } of listed.threads) expect(seen.has(threadId)).toBe(true);
      await checkpointer.close();
    });
  }
});
