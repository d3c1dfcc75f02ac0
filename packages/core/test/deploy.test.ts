import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  END,
  START,
  StateGraph,
  defineState,
  lastValue,
  type CompileOptions,
} from "@waypoint/core";
import { runDeploySuite } from "@waypoint/core/testing";
import { STORES } from "./support/stores.js";

// Deploys that change the graph, on memory and on SQLite (a file); PostgreSQL and Redis run the same suite.
for (const store of STORES) runDeploySuite(store);

describe("compile() checks the deploy options", () => {
  const State = defineState({ note: lastValue<string>() });
  const compile = (options: CompileOptions) =>
    new StateGraph(State)
      .addNode("write", () => ({ note: "x" }))
      .addNode("review", () => ({}))
      .addEdge(START, "write")
      .addEdge("write", "review")
      .addEdge("review", END)
      .compile(options);
  const refusal = (options: object) => {
    try {
      compile(options);
    } catch (error) {
      return error as { code?: string; data?: { argument?: string } };
    }
    return undefined;
  };
  const step = (from: unknown, to: unknown) => ({ from, to, state: (s: object) => s });
  const f = (s: object) => s;

  it.each([
    ["version 0", { version: 0 }, "version"],
    ["version -1", { version: -1 }, "version"],
    ["version 2.5", { version: 2.5 }, "version"],
    ['version ""', { version: "" }, "version"],
    ["version NaN", { version: Number.NaN }, "version"],
    ["version {}", { version: {} }, "version"],
    ["version null", { version: null }, "version"],
    ["a map with a gap", { version: 4, migrations: { 2: f, 4: f } }, "migrations"],
    ['a map key "02"', { version: 2, migrations: { "02": f } }, 'migrations["02"]'],
    ["a map key 1", { version: 2, migrations: { 1: f, 2: f } }, 'migrations["1"]'],
    ["a map value that is no function", { version: 2, migrations: { 2: "f" } }, "migrations[2]"],
    [
      "a list with a gap",
      { version: 4, migrations: [step(1, 2), step(3, 4)] },
      "migrations[1].from",
    ],
    [
      "a list with a duplicate version",
      { version: 2, migrations: [step(1, 2), step(2, 1), step(1, 2)] },
      "migrations[1].to",
    ],
    [
      "a list step from a version to itself",
      { version: 2, migrations: [step(2, 2)] },
      "migrations[0]",
    ],
    [
      "a list step with neither state nor plan",
      { version: 2, migrations: [{ from: 1, to: 2 }] },
      "migrations[0]",
    ],
    ["a last step not ending at version", { version: 3, migrations: [step(1, 2)] }, "migrations"],
    ["a map whose last step is not version", { version: 3, migrations: { 2: f } }, "migrations"],
    ["migrations that are no list or map", { version: 2, migrations: 7 }, "migrations"],
    [
      "renamedNodes naming a node that does not exist",
      { renamedNodes: { old: "ghost" } },
      'renamedNodes["old"]',
    ],
    [
      "renamedNodes from a name still present",
      { renamedNodes: { write: "review" } },
      'renamedNodes["write"]',
    ],
    ["renamedNodes that is a list", { renamedNodes: [["old", "review"]] }, "renamedNodes"],
  ])("refuses %s with INVALID_ARGUMENT naming the argument", (_label, options, argument) => {
    expect(refusal(options)).toMatchObject({ code: "INVALID_ARGUMENT", data: { argument } });
  });

  it.each([
    ["the default", {}],
    ["version 2 with a map", { version: 2, migrations: { 2: f } }],
    ["a string version", { version: "2026-12-spring" }],
    ["a list of string versions", { version: "b", migrations: [step("a", "b")] }],
    ["a rename", { renamedNodes: { old: "review" } }],
  ])("accepts %s", (_label, options) => {
    expect(refusal(options)).toBeUndefined();
  });

  it("accepts a version iff it is a non-empty string of at most 100 characters or a positive safe integer", () => {
    const version = fc.oneof(
      fc.string({ maxLength: 110 }),
      fc.integer({ min: -3, max: 3 }),
      fc.integer(),
      fc.double(),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Infinity, -0),
      fc.anything().filter((value) => value !== undefined),
    );
    fc.assert(
      fc.property(version, (value) => {
        const valid =
          (typeof value === "string" && value.length >= 1 && value.length <= 100) ||
          (typeof value === "number" && Number.isSafeInteger(value) && value >= 1);
        const error = refusal({ version: value });
        if (valid) expect(error).toBeUndefined();
        else
          expect(error).toMatchObject({ code: "INVALID_ARGUMENT", data: { argument: "version" } });
      }),
      { numRuns: 500, seed: 18 },
    );
  });
});
