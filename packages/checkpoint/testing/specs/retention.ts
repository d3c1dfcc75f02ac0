import { describe, expect, it } from "vitest";
import { InvalidArgumentError, ThreadExistsError, ThreadNotFoundError } from "../../src/errors.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

export function retentionSpec(options: ConformanceOptions): void {
  describe("delete, prune and copy", () => {
    const checkpointer = useCheckpointer(options, { factor: 1, minBytes: 150, maxChain: 5 });

    async function writeThread(label: string, steps: number): Promise<ThreadWriter> {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId(label));
      for (let step = 0; step < steps; step += 1) await writer.write({ log: step });
      await checkpointer().putPendingWrites(
        { threadId: writer.threadId, checkpointId: writer.head!.id },
        [{ taskId: "t", idx: 0, channel: "log", value: "pending" }],
      );
      return writer;
    }

    it("deletes a whole thread, every namespace included, and leaves others alone", async () => {
      const doomed = await writeThread("delete", 4);
      await new ThreadWriter(checkpointer(), doomed.threadId, "child").write({ last: 1 });
      const kept = await writeThread("keep", 2);
      expect(await checkpointer().deleteThread(doomed.threadId)).toBe(true);
      expect(await checkpointer().get(doomed.threadId)).toBeUndefined();
      expect(await checkpointer().get(doomed.threadId, { namespace: "child" })).toBeUndefined();
      expect(await collect(checkpointer().list(doomed.threadId))).toEqual([]);
      expect(await checkpointer().deleteThread(doomed.threadId)).toBe(false);
      expect(rebuild((await checkpointer().get(kept.threadId))!)).toEqual({ log: [0, 1] });
      const page = await checkpointer().listThreads();
      expect(page.threads.map((t) => t.threadId)).not.toContain(doomed.threadId);
    });

    it("prunes to the newest N, never the head, and keeps what they need to rebuild", async () => {
      const writer = await writeThread("prune-keep", 23);
      const before = await collect(checkpointer().list(writer.threadId));
      const { deleted } = await checkpointer().prune({ threadId: writer.threadId, keepLast: 3 });
      const after = await collect(checkpointer().list(writer.threadId));
      expect(deleted).toBe(before.length - after.length);
      expect(deleted).toBeGreaterThan(0);
      expect(after.slice(0, 3).map((h) => h.id)).toEqual(before.slice(0, 3).map((h) => h.id));
      // Whatever was kept still rebuilds to the state it had.
      for (const header of after) {
        const loaded = await checkpointer().get(writer.threadId, { checkpointId: header.id });
        expect(rebuild(loaded!)).toEqual({ log: [...Array(header.step + 1).keys()] });
      }
      expect((await checkpointer().get(writer.threadId))?.pendingWrites).toHaveLength(1);
      await checkpointer().prune({ threadId: writer.threadId, keepLast: 0 });
      expect((await checkpointer().get(writer.threadId))?.checkpoint.id).toBe(writer.head!.id);
    });

    it("prunes by age, and by age and count together, across all threads", async () => {
      const old = await writeThread("prune-old", 12);
      const cutoff = new Date(Date.now() + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const fresh = await writeThread("prune-fresh", 3);
      const freshBefore = await collect(checkpointer().list(fresh.threadId));
      // Count and age together: only checkpoints beyond the newest 10 AND older than the cutoff go.
      await checkpointer().prune({ keepLast: 10, olderThan: cutoff });
      expect((await collect(checkpointer().list(old.threadId))).length).toBeGreaterThanOrEqual(10);
      await checkpointer().prune({ olderThan: cutoff });
      const oldAfter = await collect(checkpointer().list(old.threadId));
      expect(oldAfter.length).toBeLessThan(12);
      expect(oldAfter[0]?.id).toBe(old.head!.id);
      expect(rebuild((await checkpointer().get(old.threadId))!)).toEqual({
        log: [...Array(12).keys()],
      });
      expect(await collect(checkpointer().list(fresh.threadId))).toEqual(freshBefore);
      await expect(checkpointer().prune({})).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it("copies a thread with its history and pending writes; the copy then lives on its own", async () => {
      const source = await writeThread("copy-source", 9);
      const target = uniqueThreadId("copy-target");
      await checkpointer().copyThread(source.threadId, target);
      const sourceHistory = await collect(checkpointer().list(source.threadId));
      const targetHistory = await collect(checkpointer().list(target));
      expect(targetHistory.map((h) => ({ ...h, threadId: source.threadId }))).toEqual(
        sourceHistory,
      );
      const copied = await checkpointer().get(target);
      expect(rebuild(copied!)).toEqual(source.state);
      expect(copied!.pendingWrites).toEqual([
        { taskId: "t", idx: 0, channel: "log", value: "pending" },
      ]);

      const onCopy = ThreadWriter.fork(source, copied!.checkpoint, source.state, target);
      await onCopy.write({ log: "only on the copy" });
      expect(rebuild((await checkpointer().get(source.threadId))!)).toEqual(source.state);

      await expect(checkpointer().copyThread(source.threadId, target)).rejects.toBeInstanceOf(
        ThreadExistsError,
      );
      await expect(
        checkpointer().copyThread(uniqueThreadId("absent"), uniqueThreadId("x")),
      ).rejects.toBeInstanceOf(ThreadNotFoundError);
    });

    it("exports a thread and imports it into a fresh store unchanged", async () => {
      const source = await writeThread("export", 7);
      await new ThreadWriter(checkpointer(), source.threadId, "sub").write({ last: "sub" });
      const exported = await checkpointer().exportThread(source.threadId);
      expect(exported.format).toBe("waypoint.thread");
      await checkpointer().deleteThread(source.threadId);
      await checkpointer().importThread(JSON.parse(JSON.stringify(exported)) as typeof exported);
      expect(rebuild((await checkpointer().get(source.threadId))!)).toEqual(source.state);
      expect(rebuild((await checkpointer().get(source.threadId, { namespace: "sub" }))!)).toEqual({
        last: "sub",
      });
      await expect(checkpointer().importThread(exported)).rejects.toBeInstanceOf(ThreadExistsError);
      await expect(checkpointer().exportThread(uniqueThreadId("absent"))).rejects.toBeInstanceOf(
        ThreadNotFoundError,
      );
      // The imported thread takes new checkpoints after its old head.
      const next = await source.write({ log: "after import" });
      expect(next.parentId).toBe(
        exported.checkpoints
          .filter((c) => c.namespace === "")
          .map((c) => c.id)
          .sort()
          .at(-1),
      );
    });
  });
}
