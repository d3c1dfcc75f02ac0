import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { CorruptRecordError, type CheckpointHeader } from "@waypoint/checkpoint";
import { ThreadWriter, collect } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

let round = 0;

/** Two healthy threads and one, "bad", whose head `damage` damages by hand. */
async function withDamaged(
  damage: (tag: string, head: CheckpointHeader) => Promise<unknown>,
): Promise<{ checkpointer: RedisCheckpointer; reported: CorruptRecordError[] }> {
  const prefix = `damaged-${process.pid}-${(round += 1)}`;
  const reported: CorruptRecordError[] = [];
  const checkpointer = new RedisCheckpointer({
    redis,
    prefix,
    onCorrupt: (error) => reported.push(error),
  });
  for (const threadId of ["a", "bad", "c"]) {
    const writer = new ThreadWriter(checkpointer, threadId);
    await writer.write({ log: 1 });
    await writer.write({ log: 2 }, { next: [{ id: "task", node: "n", triggers: ["log"] }] });
    if (threadId === "bad") await damage(`{${prefix}:bad}`, writer.head!);
  }
  return { checkpointer, reported };
}

/** The other threads still list and load. */
async function othersAreFine(checkpointer: RedisCheckpointer): Promise<void> {
  for (const threadId of ["a", "c"]) {
    expect((await checkpointer.get(threadId))?.checkpoint.step).toBe(1);
    expect(await collect(checkpointer.list(threadId))).toHaveLength(2);
  }
}

async function corruption(call: Promise<unknown>): Promise<CorruptRecordError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CorruptRecordError);
  expect((error as CorruptRecordError).code).toBe("CORRUPT_RECORD");
  return error as CorruptRecordError;
}

describe("a damaged record on Redis", () => {
  it("a pending write that is not JSON: CORRUPT_RECORD on load; listed as failed, reported, the others listed", async () => {
    let headId = "";
    const { checkpointer, reported } = await withDamaged((tag, head) => {
      headId = head.id;
      return redis.hset(`${tag}:0::pw:${head.id}`, "task\u00000", "{not json");
    });
    const error = await corruption(checkpointer.get("bad"));
    expect(error.message).toContain(`checkpoint ${headId} of thread "bad"`);
    const { threads } = await checkpointer.listThreads();
    expect(threads.map((t) => [t.threadId, t.status])).toEqual([
      ["a", "pending"],
      ["bad", "failed"],
      ["c", "pending"],
    ]);
    expect(reported.map((e) => e.code)).toEqual(["CORRUPT_RECORD"]);
    expect(reported[0]!.message).toContain('thread "bad"');
    await corruption(checkpointer.exportThread("bad"));
    await othersAreFine(checkpointer);
  });

  for (const [what, header] of [
    ["in an unknown layout", "9\u0000whatever"],
    ["truncated", "2\u00002\u0000"],
    ["a layout-1 header that is not JSON", '{"formatVersion":2,'],
    [
      "with a field that is not a number",
      "2\u0000two\u0000x\u0000\u0000\u00000\u00000\u00001\u00000\u00000\u00000\u0000{}\u0000[]",
    ],
  ] as const) {
    it(`a head header ${what}: CORRUPT_RECORD naming thread and checkpoint; left out of the listing and reported`, async () => {
      let headId = "";
      const { checkpointer, reported } = await withDamaged((tag, head) => {
        headId = head.id;
        return redis.hset(`${tag}:0::cps`, `h:${head.id}`, header);
      });
      for (const call of [() => checkpointer.get("bad"), () => collect(checkpointer.list("bad"))]) {
        const error = await corruption(call());
        expect(error.message).toContain('thread "bad"');
        expect(error.message).toContain(headId);
      }
      const { threads } = await checkpointer.listThreads();
      expect(threads.map((t) => t.threadId)).toEqual(["a", "c"]);
      expect(reported).toHaveLength(1);
      expect(reported[0]!.message).toContain('thread "bad"');
      await othersAreFine(checkpointer);
    });
  }

  it("a key of the wrong type: CORRUPT_RECORD naming the thread; the listing goes on", async () => {
    const { checkpointer, reported } = await withDamaged((tag) => redis.set(`${tag}:0::cps`, "x"));
    expect((await corruption(checkpointer.get("bad"))).message).toContain('thread "bad"');
    await corruption(collect(checkpointer.list("bad")));
    const { threads } = await checkpointer.listThreads();
    expect(threads.map((t) => t.threadId)).toEqual(["a", "c"]);
    expect(reported).toHaveLength(1);
    await othersAreFine(checkpointer);
  });
});
