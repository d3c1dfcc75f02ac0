import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { buildGreeter, runGreeter } from "../src/agent.js";
import { Outbox, type Message } from "../src/outbox.js";

const folders: string[] = [];
function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "greeter-"));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const backends: Record<string, (folder: string) => Checkpointer> = {
  memory: () => new MemoryCheckpointer(),
  sqlite: (folder) => new SqliteCheckpointer(join(folder, "checkpoints.db")),
};

describe.each(Object.entries(backends))("the greeter on %s", (_backend, open) => {
  it("writes a greeting and sends it once", async () => {
    const folder = tempFolder();
    const checkpointer = open(folder);
    const outbox = new Outbox(join(folder, "outbox.jsonl"));
    const greeter = buildGreeter({ checkpointer, send: (m) => outbox.send(m) });

    const result = await runGreeter(greeter, "t1", "Ada");
    expect(result).toMatchObject({ greeting: "Hello, Ada!", receipt: "msg-1" });
    // The thread is finished: running it again returns the stored result.
    expect(await runGreeter(greeter, "t1", "Ada")).toMatchObject({ receipt: "msg-1" });
    expect(outbox.messages().map((m) => m.text)).toEqual(["Hello, Ada!"]);
    await checkpointer.close();
  });

  it("resumes after a send whose answer was lost, and the outbox delivers once", async () => {
    const folder = tempFolder();
    const checkpointer = open(folder);
    const outbox = new Outbox(join(folder, "outbox.jsonl"));
    const calls: Message[] = [];
    const greeter = buildGreeter({
      checkpointer,
      send: (message) => {
        calls.push(message);
        const receipt = outbox.send(message);
        // The first time, the message goes out but the answer is lost.
        if (calls.length === 1) throw new Error("connection reset");
        return receipt;
      },
    });

    await expect(runGreeter(greeter, "t2", "Grace")).rejects.toThrow("connection reset");
    const result = await runGreeter(greeter, "t2", "Grace");
    expect(result).toMatchObject({ greeting: "Hello, Grace!", receipt: "msg-1" });
    // Sent twice with the same idempotency key, delivered once.
    expect(calls).toHaveLength(2);
    expect(calls[1]!.idempotencyKey).toBe(calls[0]!.idempotencyKey);
    expect(outbox.messages()).toHaveLength(1);
    await checkpointer.close();
  });
});

it("resumes a thread from another process's SQLite file", async () => {
  const folder = tempFolder();
  const file = join(folder, "checkpoints.db");
  const outbox = new Outbox(join(folder, "outbox.jsonl"));
  const send = (m: Message) => outbox.send(m);

  const first = new SqliteCheckpointer(file);
  await runGreeter(buildGreeter({ checkpointer: first, send }), "t3", "Lin");
  await first.close();

  // A new checkpointer on the same file, as a restarted process would open it.
  const second = new SqliteCheckpointer(file);
  const greeter = buildGreeter({ checkpointer: second, send });
  expect((await greeter.getState("t3"))?.next).toEqual([]);
  expect(await runGreeter(greeter, "t3", "Lin")).toMatchObject({ receipt: "msg-1" });
  expect(outbox.messages()).toHaveLength(1);
  await second.close();
});
