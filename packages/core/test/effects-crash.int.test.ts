import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ChildScript } from "@waypoint/test-services";

const CHILD = fileURLToPath(new URL("./fixtures/effects-child.ts", import.meta.url));
const directory = mkdtempSync(join(tmpdir(), "waypoint-effects-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let runs = 0;
function setup() {
  const dir = join(directory, `run-${++runs}`);
  mkdirSync(dir);
  const lines = (name: string) =>
    existsSync(join(dir, name))
      ? readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean)
      : [];
  return {
    db: join(dir, "checkpoints.db"),
    dir,
    calls: () => lines("calls.log"),
    charges: () => lines("charges.log"),
  };
}

async function runToEnd(
  args: string[],
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const child = new ChildScript(CHILD, args, env);
  const done = await child.waitFor((line) => line.startsWith("done "));
  return JSON.parse(done.slice(5)) as Record<string, unknown>;
}

describe("effects across a crash (SQLite, a process killed with SIGKILL)", () => {
  it("killed after the payment ran and before it was recorded: the resume charges again with the same key, and the service charges once", async () => {
    const { db, dir, calls, charges } = setup();
    const crashed = new ChildScript(CHILD, [db, dir, "t", "start"], {
      WAYPOINT_FAULTS: "after-effect-before-record=kill",
    });
    expect(await crashed.exited).toBe("SIGKILL");
    expect(calls()).toHaveLength(1);
    const result = await runToEnd([db, dir, "t", "resume"]);
    expect(calls()).toHaveLength(2);
    expect(calls()[1]).toBe(calls()[0]); // the same idempotency key
    expect(charges()).toEqual([`${calls()[0]} 1999`]); // charged exactly once
    expect(result.receipt).toBe("receipt for 1999");
  });

  it("killed right after the record: the resume does not call the payment service again", async () => {
    const { db, dir, calls, charges } = setup();
    const crashed = new ChildScript(CHILD, [db, dir, "t", "start"], {
      WAYPOINT_FAULTS: "after-record=kill",
    });
    expect(await crashed.exited).toBe("SIGKILL");
    await runToEnd([db, dir, "t", "resume"]);
    expect(calls()).toHaveLength(1);
    expect(charges()).toHaveLength(1);
  });

  it("killed mid-node after a partial output was saved: the re-run sees it as salvage, marked recovered after a crash", async () => {
    const { db, dir } = setup();
    const crashed = new ChildScript(CHILD, [db, dir, "t", "start"], { STORY_WAIT_MS: "60000" });
    await crashed.waitFor((line) => line === "partial-saved");
    await crashed.kill();
    const resumed = new ChildScript(CHILD, [db, dir, "t", "resume"]);
    const salvage = await resumed.waitFor((line) => line.startsWith("salvage "));
    expect(JSON.parse(salvage.slice(8))).toMatchObject({
      value: "Once upon a time",
      recoveredAfterCrash: true,
    });
    const done = await resumed.waitFor((line) => line.startsWith("done "));
    expect(JSON.parse(done.slice(5))).toMatchObject({ story: "Once upon a time, the end." });
  });
});
