import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ChildScript } from "@waypoint/test-services";

const STREAM = fileURLToPath(new URL("./fixtures/stream-child.ts", import.meta.url));
const STORY = "Once upon a time, a durable agent kept going.";

const directory = mkdtempSync(join(tmpdir(), "waypoint-stream-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("a chat-model node across a crash (SQLite, SIGKILL)", () => {
  it("killed mid-stream: the re-run sees the salvaged text so far, and the answer is whole", async () => {
    const db = join(directory, "checkpoints.db");
    const crashed = new ChildScript(STREAM, [db, "t", "start"]);
    // 15 tokens at 25 ms each: past the 250 ms throttle, so a partial was saved.
    await crashed.waitFor((line) => line.startsWith("token "), { count: 15 });
    await crashed.kill();
    const streamed = crashed.lines
      .filter((line) => line.startsWith("token "))
      .map((line) => line.slice(6))
      .join("");
    expect(streamed.length).toBeLessThan(STORY.length);

    const resumed = new ChildScript(STREAM, [db, "t", "resume"]);
    const salvage = JSON.parse(
      (await resumed.waitFor((line) => line.startsWith("salvage "))).slice(8),
    ) as { value: { text: string }; recoveredAfterCrash: boolean };
    expect(salvage.recoveredAfterCrash).toBe(true);
    expect(salvage.value.text.length).toBeGreaterThan(0);
    expect(STORY.startsWith(salvage.value.text)).toBe(true);
    expect(streamed.startsWith(salvage.value.text)).toBe(true);
    const done = await resumed.waitFor((line) => line.startsWith("done "));
    expect(JSON.parse(done.slice(5))).toEqual({ type: "ai", content: STORY });
  });
});
