import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { CheckpointConflictError, type ThreadExport } from "@waypoint/checkpoint";
import { ThreadWriter, collect, suiteSerializer } from "@waypoint/checkpoint/testing";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

const golden = JSON.parse(
  readFileSync(new URL("../../checkpoint/fixtures/v1/thread.json", import.meta.url), "utf8"),
) as ThreadExport;

/** Stores a thread as layout 1 did (JSON headers, `{"writes","snapshot"}` payloads), by hand. */
async function writeLayout1(prefix: string, data: ThreadExport): Promise<void> {
  const tag = `{${prefix}:${data.threadId}}`;
  const base = (ns: string) => `${tag}:${Buffer.byteLength(ns)}:${ns}`;
  const heads = new Map<string, string>();
  for (const { writes, snapshot, ...header } of data.checkpoints) {
    const ns = header.namespace;
    await redis.hset(`${base(ns)}:cps`, {
      [`h:${header.id}`]: JSON.stringify(header),
      [`p:${header.id}`]: JSON.stringify({ writes, snapshot }),
    });
    await redis.zadd(`${base(ns)}:idx`, 0, header.id);
    if ((heads.get(ns) ?? "") < header.id) heads.set(ns, header.id);
    await redis.sadd(`${tag}:nss`, ns);
  }
  for (const [ns, head] of heads) await redis.set(`${base(ns)}:head`, head);
  for (const w of data.pendingWrites) {
    const key = `${base(w.namespace)}:pw:${w.checkpointId}`;
    await redis.hset(key, `${w.taskId}\u0000${w.idx}`, JSON.stringify(w));
    await redis.sadd(`${tag}:pwk`, key);
  }
  await redis.zadd(`{${prefix}}:threads`, 0, data.threadId);
}

describe("stored layouts", () => {
  it("reads and continues a thread stored in layout 1 as it does one stored in layout 2", async () => {
    const threadId = golden.threadId;
    const [old, now] = ["old", "new"].map(
      (name) =>
        new RedisCheckpointer({
          redis,
          prefix: `${name}-${process.pid}`,
          serializer: suiteSerializer(),
        }),
    ) as [RedisCheckpointer, RedisCheckpointer];
    await writeLayout1(`old-${process.pid}`, golden);
    await now.importThread(golden);
    // The new layout is what import wrote: no JSON header left in its hash.
    const fields = await redis.hvals(`{new-${process.pid}:${threadId}}:0::cps`);
    expect(fields.filter((text) => text.startsWith('{"formatVersion"'))).toEqual([]);

    const view = async (checkpointer: RedisCheckpointer) => ({
      exported: await checkpointer.exportThread(threadId),
      loaded: await checkpointer.get(threadId),
      listed: await collect(checkpointer.list(threadId)),
      threads: await checkpointer.listThreads(),
    });
    const before = await view(old);
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
    expect(before.exported.checkpoints.toSorted(byId)).toEqual(golden.checkpoints.toSorted(byId));
    expect(before.exported.pendingWrites).toEqual(
      expect.arrayContaining([...golden.pendingWrites]),
    );
    expect(before).toEqual(await view(now));

    // A layout-2 delta on a layout-1 chain loads like one on a layout-2 chain.
    const continued = await Promise.all(
      [old, now].map(async (checkpointer) => {
        const head = (await collect(checkpointer.list(threadId, { limit: 1 })))[0]!;
        await ThreadWriter.fork(new ThreadWriter(checkpointer, threadId), head, {}).write({
          log: ["continued"],
        });
        const { base, deltas, checkpoint } = (await checkpointer.get(threadId))!;
        // The new checkpoint's own id differs between the two; everything else must not.
        const earlier = deltas.slice(0, -1);
        return {
          base,
          earlier,
          last: deltas.at(-1)!.writes,
          step: checkpoint.step,
          parentId: checkpoint.parentId,
        };
      }),
    );
    expect(continued[0]).toEqual(continued[1]);
    expect(continued[0]!.last.map((w) => w.value)).toEqual([["continued"]]);
    await Promise.all([old.close(), now.close()]);
  });

  it("continues a head stored with its base after a NUL, as earlier versions wrote it", async () => {
    const prefix = `nul-head-${process.pid}`;
    const checkpointer = new RedisCheckpointer({ redis, prefix, serializer: suiteSerializer() });
    const writer = new ThreadWriter(checkpointer, "t");
    for (let i = 0; i < 4; i += 1) await writer.write({ log: [`step ${i}`] });
    const baseId = (await checkpointer.get("t"))!.base.checkpointId;
    const headKey = `{${prefix}:t}:0::head`;
    const earlierForm = () => redis.set(headKey, `${writer.head!.id}\u0000${baseId}`);
    await earlierForm();

    // A stale writer is refused and told the head's id, not the stored text.
    const stale = ThreadWriter.fork(writer, writer.head!, writer.state);
    await earlierForm();
    const next = await writer.write({ log: ["after"] });
    expect(await redis.get(headKey)).toBe(next.id);
    await earlierForm();
    const refusal = await stale.write({ log: ["stale"] }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(CheckpointConflictError);
    expect((refusal as CheckpointConflictError).data.actualHeadId).toBe(next.id);

    // The new checkpoint continues the chain: same base, its writes last.
    const loaded = (await checkpointer.get("t"))!;
    expect(loaded.checkpoint.id).toBe(next.id);
    expect(loaded.base.checkpointId).toBe(baseId);
    expect(loaded.deltas.at(-1)!.writes.map((w) => w.value)).toEqual([["after"]]);
    await checkpointer.close();
  });
});
