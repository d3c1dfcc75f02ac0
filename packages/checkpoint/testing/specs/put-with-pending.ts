import { describe, expect, it } from "vitest";
import { newCheckpointId } from "../../src/checkpoint-id.js";
import { CheckpointConflictError, CheckpointNotFoundError } from "../../src/errors.js";
import type { PendingWrite } from "../../src/pending-writes.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

/** What an edit carries over: an interrupt, a recorded effect, a partial output. Fresh per call. */
function carried(): PendingWrite[] {
  return [
    { taskId: "task-b", idx: 0, channel: "log", value: { effect: "sent", at: new Date(1) } },
    {
      taskId: "task-a",
      idx: 0,
      channel: "__interrupt__",
      value: {
        when: new Date("2026-03-04T05:06:07.089Z"),
        note: undefined,
        nested: { question: "approve?", options: [{ id: 1, labels: ["yes", "no"] }] },
      },
    },
    { taskId: "task-a", idx: -1, channel: "__partial__", value: "half an answer" },
  ];
}

/** `carried()` as `get` returns it: by task id, then idx. */
function carriedSorted(): PendingWrite[] {
  const [effect, interrupt, partial] = carried();
  return [partial!, interrupt!, effect!];
}

/**
 * `put({ pendingWrites })`: the new checkpoint is born with pending writes,
 * stored in the same atomic write as it, so both are stored or neither.
 */
export function putWithPendingSpec(options: ConformanceOptions): void {
  describe("put with pending writes", () => {
    const checkpointer = useCheckpointer(options);

    it("stores them with the new checkpoint: get by id and of the head return them exactly, and later saves replace them as usual", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("put-pending"));
      const parent = await writer.write({ log: "start" });
      const head = await writer.write({ log: "edited" }, { pendingWrites: carried() });
      const byId = await checkpointer().get(writer.threadId, { checkpointId: head.id });
      const atHead = await checkpointer().get(writer.threadId);
      for (const loaded of [byId, atHead]) {
        expect(loaded?.checkpoint.id).toBe(head.id);
        // Strict: the undefined inside the interrupt's value comes back as a key.
        expect(loaded?.pendingWrites).toStrictEqual(carriedSorted());
        expect(rebuild(loaded!)).toEqual({ log: ["start", "edited"] });
      }
      const onParent = await checkpointer().get(writer.threadId, { checkpointId: parent.id });
      expect(onParent?.pendingWrites).toEqual([]);

      const resume = { taskId: "task-a", idx: 0, channel: "__resume__", value: "yes" };
      await checkpointer().putPendingWrites({ threadId: writer.threadId, checkpointId: head.id }, [
        resume,
      ]);
      const [partial, , effect] = carriedSorted();
      expect((await checkpointer().get(writer.threadId))?.pendingWrites).toStrictEqual([
        partial,
        resume,
        effect,
      ]);
    });

    it("works for a thread's first checkpoint and in a namespace; the last of a repeated (task, idx) wins; an empty list stores none", async () => {
      const threadId = uniqueThreadId("put-pending-first");
      const root = new ThreadWriter(checkpointer(), threadId);
      const child = new ThreadWriter(checkpointer(), threadId, "research:task-1");
      await root.write(
        { log: 1 },
        {
          pendingWrites: [
            { taskId: "t", idx: 0, channel: "__interrupt__", value: "first" },
            { taskId: "t", idx: 0, channel: "__interrupt__", value: "second" },
          ],
        },
      );
      await child.write(
        { log: "sub" },
        { pendingWrites: [{ taskId: "s", idx: 3, channel: "log", value: 3n }] },
      );
      expect((await checkpointer().get(threadId))?.pendingWrites).toEqual([
        { taskId: "t", idx: 0, channel: "__interrupt__", value: "second" },
      ]);
      expect(
        (await checkpointer().get(threadId, { namespace: child.namespace }))?.pendingWrites,
      ).toEqual([{ taskId: "s", idx: 3, channel: "log", value: 3n }]);

      const next = await root.write({ log: 2 }, { pendingWrites: [] });
      const loaded = await checkpointer().get(threadId);
      expect(loaded?.checkpoint.id).toBe(next.id);
      expect(loaded?.pendingWrites).toEqual([]);
    });

    it("stores nothing when a pending write cannot be saved: head, history and earlier pending writes stay", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("put-pending-bad"));
      const parent = await writer.write({ log: "kept" });
      const old = { taskId: "old", idx: 0, channel: "log", value: "old" };
      await checkpointer().putPendingWrites(
        { threadId: writer.threadId, checkpointId: parent.id },
        [old],
      );
      const history = await collect(checkpointer().list(writer.threadId));
      const id = newCheckpointId(parent.id);
      const error = await writer
        .write(
          { log: "lost" },
          {
            id,
            pendingWrites: [
              { taskId: "t", idx: 0, channel: "log", value: "fine" },
              { taskId: "t", idx: 1, channel: "tools", value: { callback: () => 1 } },
            ],
          },
        )
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "UNSERIALIZABLE_VALUE" });
      expect((error as Error).message).toContain("tools.callback");
      await expect(
        writer.write(
          { log: "lost" },
          { id, pendingWrites: [{ taskId: "", idx: 0, channel: "log", value: 1 }] },
        ),
      ).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        data: { argument: "pendingWrites[0].taskId" },
      });

      expect(await collect(checkpointer().list(writer.threadId))).toEqual(history);
      const loaded = await checkpointer().get(writer.threadId);
      expect(loaded?.checkpoint.id).toBe(parent.id);
      expect(loaded?.pendingWrites).toEqual([old]);
      await expect(
        checkpointer().get(writer.threadId, { checkpointId: id }),
      ).rejects.toBeInstanceOf(CheckpointNotFoundError);
      // Nothing was kept under the id either: a checkpoint written with it now has no pending writes.
      await writer.write({ log: "retried" }, { id });
      expect((await checkpointer().get(writer.threadId))?.pendingWrites).toEqual([]);

      const fresh = uniqueThreadId("put-pending-bad-first");
      await expect(
        new ThreadWriter(checkpointer(), fresh).write(
          { log: 1 },
          { pendingWrites: [{ taskId: "t", idx: 0, channel: "log", value: Symbol("no") }] },
        ),
      ).rejects.toMatchObject({ code: "UNSERIALIZABLE_VALUE" });
      expect(await checkpointer().get(fresh)).toBeUndefined();
    });

    it("stores neither on a conflict: a stale expected head, or a second first checkpoint", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("put-pending-conflict"));
      await writer.write({ log: 1 });
      const stale = ThreadWriter.fork(writer, writer.head!, writer.state);
      await writer.write({ log: 2 });
      const history = await collect(checkpointer().list(writer.threadId));
      const id = newCheckpointId(writer.head!.id);
      await expect(
        stale.write({ log: "stale" }, { id, pendingWrites: carried() }),
      ).rejects.toBeInstanceOf(CheckpointConflictError);
      const second = await new ThreadWriter(checkpointer(), writer.threadId)
        .write({ log: "again" }, { pendingWrites: carried() })
        .catch((e: unknown) => e);
      expect(second).toBeInstanceOf(CheckpointConflictError);

      expect(await collect(checkpointer().list(writer.threadId))).toEqual(history);
      const loaded = await checkpointer().get(writer.threadId);
      expect(loaded?.checkpoint.id).toBe(writer.head!.id);
      expect(loaded?.pendingWrites).toEqual([]);
      await expect(
        checkpointer().get(writer.threadId, { checkpointId: id }),
      ).rejects.toBeInstanceOf(CheckpointNotFoundError);
      // Nothing was kept under the id either: a checkpoint written with it now has no pending writes.
      await writer.write({ log: 3 }, { id });
      expect((await checkpointer().get(writer.threadId))?.pendingWrites).toEqual([]);
      expect((await checkpointer().exportThread(writer.threadId)).pendingWrites).toEqual([]);
    });

    it("a fork (an older parent, the head expected) carries them too", async () => {
      const main = new ThreadWriter(checkpointer(), uniqueThreadId("put-pending-fork"));
      const forkPoint = await main.write({ log: "a" });
      const stateAtFork = { ...main.state };
      const tip = await main.write({ log: "b" });
      const branch = ThreadWriter.fork(main, forkPoint, stateAtFork);
      const forked = await branch.write(
        { log: "c" },
        { expectedHeadId: tip.id, pendingWrites: carried() },
      );
      expect(forked.parentId).toBe(forkPoint.id);
      const loaded = await checkpointer().get(main.threadId);
      expect(loaded?.checkpoint.id).toBe(forked.id);
      expect(rebuild(loaded!)).toEqual({ log: ["a", "c"] });
      expect(loaded?.pendingWrites).toStrictEqual(carriedSorted());
      for (const other of [forkPoint, tip]) {
        const old = await checkpointer().get(main.threadId, { checkpointId: other.id });
        expect(old?.pendingWrites).toEqual([]);
      }
    });
  });
}
