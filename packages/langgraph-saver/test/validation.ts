import {
  deltaChannelHistoryTests,
  validate,
  type CheckpointSaverTestInitializer,
} from "@langchain/langgraph-checkpoint-validation";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { WaypointSaver } from "../src/index.js";

type Body = (...args: unknown[]) => void | Promise<void>;

/**
 * Runs `@langchain/langgraph-checkpoint-validation` through its library entry
 * point (its CLI is broken in 1.1.1) inside this vitest file. The suite reads
 * vitest's functions as globals, so they are lent to it here, with `it`
 * counting what ran. The suite skips some tests for LangGraph's own savers,
 * keyed to their package names: none may be skipped for this one. Its
 * delta-channel group is opt-in, and this saver opts in.
 */
export function runLangGraphValidation(
  initializer: CheckpointSaverTestInitializer<WaypointSaver>,
): void {
  const counts = { ran: 0, passed: 0, failed: 0, skipped: 0 };
  const counted =
    (body: Body): Body =>
    async (...args) => {
      counts.ran += 1;
      try {
        await body(...args);
        counts.passed += 1;
      } catch (error) {
        counts.failed += 1;
        throw error;
      }
    };
  const countingIt = Object.assign(
    (name: string, body: Body, timeout?: number) => it(name, counted(body), timeout),
    {
      each: (cases: readonly unknown[]) => (name: string, body: Body, timeout?: number) =>
        it.each(cases)(name, counted(body), timeout),
      skip: (name: string, body: Body, timeout?: number) => {
        counts.skipped += 1;
        it.skip(name, body, timeout);
      },
    },
  );
  Object.assign(globalThis, {
    afterAll,
    afterEach,
    beforeAll,
    beforeEach,
    describe,
    expect,
    it: countingIt,
  });
  validate(initializer);
  // Opt-in in LangGraph's suite (specTest leaves it out): this saver opts in.
  deltaChannelHistoryTests(initializer);
  afterAll(() => {
    console.log(
      `${initializer.checkpointerName}: ${counts.ran} validation tests ran, ` +
        `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
    );
    expect(counts.skipped).toBe(0);
  });
}
