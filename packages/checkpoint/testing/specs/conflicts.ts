import { describe, expect, it } from "vitest";
import { CheckpointConflictError, CheckpointNotFoundError } from "../../src/errors.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

const WRITERS = 16;

export function conflictsSpec(options: ConformanceOptions): void {
  describe("conflicts", () => {
    const checkpointer = useCheckpointer(options);

    it(`lets exactly one of ${WRITERS} concurrent writers on one head win, and leaves nothing of the others`, async () => {
      const threadId = uniqueThreadId("race");
      const origin = new ThreadWriter(checkpointer(), threadId);
      await origin.write({ log: "origin" });
      const writers = Array.from({ length: WRITERS }, () =>
        ThreadWriter.fork(origin, origin.head!, origin.state),
      );
      const results = await Promise.allSettled(
        writers.map((writer, index) => writer.write({ log: `writer ${index}`, last: index })),
      );
      const winners = results.flatMap((r, index) =>
        r.status === "fulfilled" ? [{ index, header: r.value }] : [],
      );
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      for (const result of results) {
        if (result.status === "fulfilled") continue;
        expect(result.reason).toBeInstanceOf(CheckpointConflictError);
        const error = result.reason as CheckpointConflictError;
        expect(error.code).toBe("CHECKPOINT_CONFLICT");
        expect(error.data).toMatchObject({
          threadId,
          expectedHeadId: origin.head!.id,
          actualHeadId: winner.header.id,
        });
      }
      const history = await collect(checkpointer().list(threadId));
      expect(history.map((h) => h.id)).toEqual([winner.header.id, origin.head!.id]);
      expect(rebuild((await checkpointer().get(threadId))!)).toEqual({
        log: ["origin", `writer ${winner.index}`],
        last: winner.index,
      });
    });

    it("rejects a stale writer after another moved the head", async () => {
      const a = new ThreadWriter(checkpointer(), uniqueThreadId("stale"));
      await a.write({ log: 1 });
      const b = ThreadWriter.fork(a, a.head!, a.state);
      await a.write({ log: 2 });
      await expect(b.write({ log: "stale" })).rejects.toBeInstanceOf(CheckpointConflictError);
      expect(rebuild((await checkpointer().get(a.threadId))!)).toEqual({ log: [1, 2] });
    });

    it("rejects a second first checkpoint, and a parent that does not exist", async () => {
      const threadId = uniqueThreadId("first-twice");
      await new ThreadWriter(checkpointer(), threadId).write({ log: 1 });
      const error = await new ThreadWriter(checkpointer(), threadId)
        .write({ log: "again" })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointConflictError);
      expect((error as CheckpointConflictError).data.expectedHeadId).toBeNull();

      const ghost = new ThreadWriter(checkpointer(), uniqueThreadId("ghost-parent"));
      ghost.head = {
        id: "01900000-0000-7000-8000-000000000000",
        chain: { baseId: "x", length: 0, deltaBytes: 0, snapshotBytes: 0 },
      } as never;
      const ghostError = await ghost
        .write({ log: 1 }, { expectedHeadId: null })
        .catch((e: unknown) => e);
      expect(ghostError).toBeInstanceOf(CheckpointNotFoundError);
      expect(await checkpointer().get(ghost.threadId)).toBeUndefined();
    });

    it("writes nothing when a value cannot be saved or the snapshot fails", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("atomic"));
      await writer.write({ log: "kept" });
      await expect(writer.write({ log: Symbol("nope") })).rejects.toMatchObject({
        code: "UNSERIALIZABLE_VALUE",
      });
      // A thread's first checkpoint always takes a snapshot; here taking it fails.
      const fresh = uniqueThreadId("atomic-snapshot");
      await expect(
        checkpointer().put({
          checkpoint: {
            threadId: fresh,
            step: 0,
            channelVersions: {},
            versionsSeen: {},
            next: [],
            writes: [],
          },
          parent: null,
          snapshot: () => {
            throw new Error("snapshot failed");
          },
        }),
      ).rejects.toThrow("snapshot failed");
      expect(await checkpointer().get(fresh)).toBeUndefined();
      const history = await collect(checkpointer().list(writer.threadId));
      expect(history).toHaveLength(1);
      expect(rebuild((await checkpointer().get(writer.threadId))!)).toEqual({ log: ["kept"] });
    });
  });
}
