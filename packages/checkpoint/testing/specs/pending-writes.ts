import { describe, expect, it } from "vitest";
import { CheckpointNotFoundError, UnserializableValueError } from "../../src/errors.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

export function pendingWritesSpec(options: ConformanceOptions): void {
  describe("pending writes", () => {
    const checkpointer = useCheckpointer(options);

    it("saves them against one checkpoint, sorted by task and idx, and replaces a repeated (task, idx)", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("pending"));
      const head = await writer.write({ log: "start" });
      const target = { threadId: writer.threadId, checkpointId: head.id };
      await checkpointer().putPendingWrites(target, [
        { taskId: "task-b", idx: 0, channel: "log", value: "b0" },
        { taskId: "task-a", idx: 1, channel: "log", value: "a1" },
      ]);
      await checkpointer().putPendingWrites(target, [
        { taskId: "task-a", idx: 0, channel: "log", value: "a0" },
        { taskId: "task-a", idx: -1, channel: "__partial__", value: { text: "partial" } },
      ]);
      // A retried save of the same (task, idx) replaces instead of duplicating.
      await checkpointer().putPendingWrites(target, [
        { taskId: "task-b", idx: 0, channel: "log", value: "b0 again" },
      ]);
      const loaded = await checkpointer().get(writer.threadId);
      expect(loaded?.pendingWrites).toEqual([
        { taskId: "task-a", idx: -1, channel: "__partial__", value: { text: "partial" } },
        { taskId: "task-a", idx: 0, channel: "log", value: "a0" },
        { taskId: "task-a", idx: 1, channel: "log", value: "a1" },
        { taskId: "task-b", idx: 0, channel: "log", value: "b0 again" },
      ]);
    });

    it("getPendingWrites gives one checkpoint's, as get gives them, without loading its chain", async () => {
      const store = checkpointer();
      if (store.getPendingWrites === undefined) return; // optional: callers fall back to get
      const writer = new ThreadWriter(store, uniqueThreadId("pending-alone"));
      const ids: string[] = [];
      for (let step = 0; step < 5; step += 1) {
        const header = await writer.write({ log: step });
        ids.push(header.id);
        await store.putPendingWrites({ threadId: writer.threadId, checkpointId: header.id }, [
          { taskId: `task-${5 - step}`, idx: 1, channel: "log", value: { step } },
          { taskId: `task-${5 - step}`, idx: -100, channel: "__effect__", value: "recorded" },
          { taskId: "task-0", idx: 0, channel: "log", value: new Date(step) },
        ]);
      }
      const quiet = await writer.write({ log: "no writes" });
      for (const id of ids) {
        const loaded = await store.get(writer.threadId, { checkpointId: id });
        const alone = await store.getPendingWrites({ threadId: writer.threadId, checkpointId: id });
        expect(alone).toEqual(loaded?.pendingWrites);
        expect(alone).toHaveLength(3);
      }
      expect(
        await store.getPendingWrites({ threadId: writer.threadId, checkpointId: quiet.id }),
      ).toEqual([]);
      expect(
        await store.getPendingWrites({
          threadId: writer.threadId,
          namespace: "elsewhere",
          checkpointId: ids[0]!,
        }),
      ).toEqual([]);
    });

    it("belongs to its checkpoint only: the next checkpoint starts with none, the old one keeps them", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("pending-scope"));
      const first = await writer.write({ log: 1 });
      await checkpointer().putPendingWrites({ threadId: writer.threadId, checkpointId: first.id }, [
        { taskId: "t", idx: 0, channel: "log", value: 2 },
      ]);
      await writer.write({ log: 2 });
      expect((await checkpointer().get(writer.threadId))?.pendingWrites).toEqual([]);
      const old = await checkpointer().get(writer.threadId, { checkpointId: first.id });
      expect(old?.pendingWrites).toHaveLength(1);
    });

    it("fails for an unknown checkpoint, and saves nothing from a batch with one bad value", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("pending-errors"));
      const head = await writer.write({ log: 1 });
      await expect(
        checkpointer().putPendingWrites(
          { threadId: writer.threadId, checkpointId: "01900000-0000-7000-8000-000000000000" },
          [{ taskId: "t", idx: 0, channel: "log", value: 1 }],
        ),
      ).rejects.toBeInstanceOf(CheckpointNotFoundError);
      const error = await checkpointer()
        .putPendingWrites({ threadId: writer.threadId, checkpointId: head.id }, [
          { taskId: "t", idx: 0, channel: "log", value: "fine" },
          { taskId: "t", idx: 1, channel: "tools", value: { callback: () => 1 } },
        ])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnserializableValueError);
      expect((error as Error).message).toContain('channel "tools"');
      expect((error as Error).message).toContain("tools.callback");
      expect((await checkpointer().get(writer.threadId))?.pendingWrites).toEqual([]);
    });
  });
}
