import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { buildSupervisor } from "../src/graph.js";
import { runThread, type Turn } from "../src/run-thread.js";
import { DedupSink, tally } from "../src/sink.js";

const directory = mkdtempSync(join(tmpdir(), "waypoint-supervisor-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("runThread", () => {
  it("names the agent that wrote each message, in order, and each agent writes to the sink once", async () => {
    const sink = new DedupSink(join(directory, "sink.jsonl"));
    const graph = buildSupervisor({ checkpointer: new MemoryCheckpointer(), sink });
    const turns: Turn[] = [];
    const state = await runThread(graph, { threadId: "t", onTurn: (turn) => turns.push(turn) });
    expect(turns.map((t) => t.agent)).toEqual([
      "user",
      ...["supervisor", "supervisor"],
      ...["researcher", "researcher", "researcher"],
      ...["supervisor", "supervisor"],
      ...["writer", "writer", "writer"],
      "supervisor",
    ]);
    expect(turns.filter((t) => t.text.startsWith("calls ")).map((t) => t.text)).toEqual([
      "calls transfer_to_researcher()",
      'calls search({"topic":"durable agents"})',
      "calls transfer_to_writer()",
      'calls publish({"title":"Durable agents"})',
    ]);
    expect(state.next).toEqual([]);
    expect(state.values.messages).toHaveLength(turns.length);
    expect(tally(sink.entries())).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 1, applied: 1 },
    });
  });

  it("resumes a finished thread without running anything again", async () => {
    const sink = new DedupSink(join(directory, "sink-2.jsonl"));
    const graph = buildSupervisor({ checkpointer: new MemoryCheckpointer(), sink });
    await runThread(graph, { threadId: "t" });
    const turns: Turn[] = [];
    await runThread(graph, { threadId: "t", onTurn: (turn) => turns.push(turn) });
    expect(turns).toEqual([]);
    expect(sink.entries()).toHaveLength(2);
  });
});
