import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tool } from "@langchain/core/tools";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { createToolCallingAgent, langchainSerializer } from "@waypoint/langchain";
import { ScriptedChatModel } from "./scripted-model.js";
import { ChildScript } from "@waypoint/test-services";

const AGENT = fileURLToPath(new URL("./fixtures/agent-child.ts", import.meta.url));
const CALL_IDS = ["c1", "c2", "c3", "c4", "c5"];

const directory = mkdtempSync(join(tmpdir(), "waypoint-langchain-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let runs = 0;
function setup() {
  const dir = join(directory, `run-${++runs}`);
  mkdirSync(dir);
  return { db: join(dir, "checkpoints.db"), dir };
}

/** The calls log as [toolCallId, idempotencyKey] pairs, in order. */
function calls(dir: string): [string, string][] {
  const file = join(dir, "calls.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ").slice(1) as [string, string]);
}

/**
 * The agent's graph against the child's file, only to read its state: it
 * never runs, so its model and tool are stubs.
 */
async function readState(db: string, threadId: string) {
  const lookup = tool(
    () => {
      throw new Error("the test process must not run tools");
    },
    { name: "lookup", description: "stub", schema: z.object({ n: z.number() }) },
  );
  const checkpointer = new SqliteCheckpointer(db, { serializer: langchainSerializer() });
  try {
    const agent = createToolCallingAgent({
      model: new ScriptedChatModel([]),
      tools: [lookup],
      checkpointer,
    });
    return await agent.getState(threadId);
  } finally {
    await checkpointer.close();
  }
}

describe("a tool-calling agent across a crash (SQLite, SIGKILL)", () => {
  it("killed amid five parallel tool calls: the resume runs only the calls without a recorded result, with the same keys", async () => {
    const { db, dir } = setup();
    const crashed = new ChildScript(AGENT, [db, dir, "t", "start"]);
    await crashed.waitFor((line) => line.startsWith("tool-done "), { count: 2 });
    await crashed.kill();
    const doneBeforeKill = crashed.lines
      .filter((line) => line.startsWith("tool-done "))
      .map((line) => line.slice(10));

    const before = await readState(db, "t");
    expect(before?.next).toEqual(["tools"]);
    expect(before?.pendingToolCalls.map((call) => call.id)).toEqual(CALL_IDS);
    const recorded = before!.pendingToolCalls
      .filter((call) => call.recorded !== undefined)
      .map((call) => call.id);
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.length).toBeLessThan(CALL_IDS.length);
    // A result is recorded only after its tool returned.
    for (const id of recorded) expect(doneBeforeKill).toContain(id);
    // All five started before the kill, each once.
    expect(
      calls(dir)
        .map(([id]) => id)
        .sort(),
    ).toEqual(CALL_IDS);
    const firstKeys = new Map(calls(dir));

    const resumed = new ChildScript(AGENT, [db, dir, "t", "resume"]);
    const done = await resumed.waitFor((line) => line.startsWith("done "));
    expect(await resumed.exited).toBe(0);
    // The resume ran exactly the calls without a recorded result.
    const rerun = resumed.lines
      .filter((line) => line.startsWith("tool-done "))
      .map((line) => line.slice(10))
      .sort();
    expect(rerun).toEqual(CALL_IDS.filter((id) => !recorded.includes(id)));
    for (const id of CALL_IDS) {
      const attempts = calls(dir).filter(([callId]) => callId === id);
      expect(attempts).toHaveLength(recorded.includes(id) ? 1 : 2);
      // A call in flight at the kill ran again with its first attempt's key.
      for (const [, key] of attempts) expect(key).toBe(firstKeys.get(id));
    }
    expect(new Set(firstKeys.values()).size).toBe(CALL_IDS.length);

    expect(JSON.parse(done.slice(5))).toEqual([
      { type: "human", content: "Look up 1 to 5." },
      { type: "ai", content: "", toolCalls: CALL_IDS },
      ...CALL_IDS.map((id, i) => ({ type: "tool", content: `value ${i + 1}`, toolCallId: id })),
      { type: "ai", content: "All five lookups are done.", toolCalls: [] },
    ]);
    const after = await readState(db, "t");
    expect(after?.next).toEqual([]);
    expect(after?.pendingToolCalls).toEqual([]);
    expect(after?.values.messages.map((m) => m.getType())).toEqual([
      "human",
      "ai",
      ...CALL_IDS.map(() => "tool"),
      "ai",
    ]);
  });
});
