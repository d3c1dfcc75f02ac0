import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ChildScript } from "@waypoint/test-services";
import { DedupSink } from "./fixtures/supervisor/sink.js";
import type { CrashPoint } from "./fixtures/supervisor/supervisor-graph.js";

const CHILD = fileURLToPath(new URL("./fixtures/supervisor/supervisor-child.ts", import.meta.url));

const directory = mkdtempSync(join(tmpdir(), "waypoint-supervisor-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let runs = 0;
function files() {
  runs += 1;
  return { db: join(directory, `run-${runs}.db`), sink: join(directory, `sink-${runs}.jsonl`) };
}

async function run(db: string, sink: string, mode: "start" | "resume", crashAt?: CrashPoint) {
  const child = new ChildScript(
    CHILD,
    [db, sink, "t", mode],
    crashAt === undefined ? {} : { SUPERVISOR_CRASH_AT: crashAt },
  );
  if (crashAt !== undefined) {
    expect(await child.exited).toBe("SIGKILL");
    return undefined;
  }
  const done = await child.waitFor((line) => line.startsWith("done "));
  expect(await child.exited).toBe(0);
  return JSON.parse(done.slice(5)) as unknown;
}

/** Per agent: how many writes reached the sink, and how many it applied. */
function tally(sink: string) {
  const entries = new DedupSink(sink).entries();
  const count = (agent: string, applied?: boolean) =>
    entries.filter((e) => e.agent === agent && (applied === undefined || e.applied === applied))
      .length;
  return {
    researcher: { attempts: count("researcher"), applied: count("researcher", true) },
    writer: { attempts: count("writer"), applied: count("writer", true) },
  };
}

describe("a supervisor handing off to two subgraph agents, SIGKILLed between the handoffs (SQLite)", () => {
  let uninterrupted: unknown;
  it("runs uninterrupted: researcher then writer, each writing once", async () => {
    const { db, sink } = files();
    uninterrupted = await run(db, sink, "start");
    expect(uninterrupted).toMatchObject({ next: [] });
    const calls = (uninterrupted as { transcript: { toolCalls?: string[] }[] }).transcript.flatMap(
      (m) => m.toolCalls ?? [],
    );
    expect(calls).toEqual(["transfer_to_researcher", "search", "transfer_to_writer", "publish"]);
    expect(tally(sink)).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 1, applied: 1 },
    });
  });

  it("killed before the handoff to the writer: the resume goes to the writer and reruns nothing of the researcher", async () => {
    const { db, sink } = files();
    await run(db, sink, "start", "between-handoffs");
    expect(tally(sink)).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 0, applied: 0 },
    });
    expect(await run(db, sink, "resume")).toEqual(uninterrupted);
    expect(tally(sink)).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 1, applied: 1 },
    });
  });

  it("killed after the researcher's write reached the sink, before it was recorded: the retry carries the same key, applied once", async () => {
    const { db, sink } = files();
    await run(db, sink, "start", "after-research-effect");
    expect(tally(sink)).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 0, applied: 0 },
    });
    expect(await run(db, sink, "resume")).toEqual(uninterrupted);
    expect(tally(sink)).toEqual({
      researcher: { attempts: 2, applied: 1 },
      writer: { attempts: 1, applied: 1 },
    });
    const keys = new DedupSink(sink).entries().filter((e) => e.agent === "researcher");
    expect(keys[0]?.key).toBe(keys[1]?.key);
  });
});
