import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ChildScript } from "@waypoint/test-services";
import type { KillPoint } from "../src/graph.js";
import { DedupSink, tally as tallyEntries } from "../src/sink.js";
import type { WorkerEvent } from "../src/worker.js";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const directory = mkdtempSync(join(tmpdir(), "waypoint-supervisor-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let runs = 0;
function files() {
  runs += 1;
  return { db: join(directory, `run-${runs}.db`), sink: join(directory, `sink-${runs}.jsonl`) };
}

const eventOf = (line: string) => JSON.parse(line.slice("event ".length)) as WorkerEvent;

/**
 * A worker process on thread "t": it starts the thread or resumes it. With
 * `killAt`, it is killed with SIGKILL when it reports that point.
 */
async function run(db: string, sink: string, killAt?: KillPoint) {
  const child = new ChildScript(MAIN, [
    ...["--worker", "--db", db, "--sink", sink, "--thread", "t"],
    ...(killAt === undefined ? [] : ["--kill-at", killAt]),
  ]);
  const last = (type: WorkerEvent["type"]) => (line: string) =>
    line.startsWith("event ") && eventOf(line).type === type;
  if (killAt !== undefined) {
    expect(eventOf(await child.waitFor(last("kill-point")))).toEqual({
      type: "kill-point",
      point: killAt,
    });
    await child.kill();
    return undefined;
  }
  const done = eventOf(await child.waitFor(last("finished")));
  expect(await child.exited).toBe(0);
  if (done.type !== "finished") throw new Error("unreachable");
  return { next: done.next, transcript: done.transcript };
}

/** Per agent: how many writes reached the sink, and how many it applied. */
const tally = (sink: string) => tallyEntries(new DedupSink(sink).entries());

describe("a supervisor handing off to two subgraph agents, SIGKILLed between the handoffs (SQLite)", () => {
  let uninterrupted: unknown;
  it("runs uninterrupted: researcher then writer, each writing once", async () => {
    const { db, sink } = files();
    uninterrupted = await run(db, sink);
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
    await run(db, sink, "between-handoffs");
    expect(tally(sink)).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 0, applied: 0 },
    });
    expect(await run(db, sink)).toEqual(uninterrupted);
    expect(tally(sink)).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 1, applied: 1 },
    });
  });

  it("killed after the researcher's write reached the sink, before it was recorded: the retry carries the same key, applied once", async () => {
    const { db, sink } = files();
    await run(db, sink, "after-research-effect");
    expect(tally(sink)).toEqual({
      researcher: { attempts: 1, applied: 1 },
      writer: { attempts: 0, applied: 0 },
    });
    expect(await run(db, sink)).toEqual(uninterrupted);
    expect(tally(sink)).toEqual({
      researcher: { attempts: 2, applied: 1 },
      writer: { attempts: 1, applied: 1 },
    });
    const keys = new DedupSink(sink).entries().filter((e) => e.agent === "researcher");
    expect(keys[0]?.key).toBe(keys[1]?.key);
  });
});

describe("pnpm supervisor --crash", () => {
  it("kills the worker after the researcher's write and between the handoffs; each restart finds the thread, each agent's write is applied once", async () => {
    const child = spawn(
      process.execPath,
      ["--conditions=@waypoint/source", "--import", "tsx", MAIN, "--crash"],
      { cwd: ROOT, env: { ...process.env, INIT_CWD: directory } },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const line = stdout.split("\n").find((l) => l.startsWith("result "));
    if (code !== 0 || line === undefined)
      throw new Error(`exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    expect(JSON.parse(line.slice("result ".length))).toMatchObject({
      kills: ["after-research-effect", "between-handoffs"],
      resumedFrom: [expect.any(Number), expect.any(Number)],
      sink: { researcher: { attempts: 2, applied: 1 }, writer: { attempts: 1, applied: 1 } },
      eachKeyAppliedOnce: true,
      transcriptMatches: true,
      ok: true,
    });
    expect(stdout.match(/found unfinished thread/g)).toHaveLength(2);
  });
});
