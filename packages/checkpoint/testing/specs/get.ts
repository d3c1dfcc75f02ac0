import { describe, expect, it } from "vitest";
import { CheckpointNotFoundError, InvalidArgumentError } from "../../src/errors.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

export function getSpec(options: ConformanceOptions): void {
  describe("get", () => {
    const checkpointer = useCheckpointer(options);

    it("returns undefined for a thread with no checkpoint", async () => {
      expect(await checkpointer().get(uniqueThreadId("never-written"))).toBeUndefined();
    });

    it("returns the head by default and any checkpoint by id, each with its own state", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("latest"));
      const headers = [];
      for (let step = 0; step < 5; step += 1)
        headers.push(await writer.write({ log: step, last: `v${step}` }));
      const latest = await checkpointer().get(writer.threadId);
      expect(latest?.checkpoint.id).toBe(headers[4]!.id);
      expect(rebuild(latest!)).toEqual({ log: [0, 1, 2, 3, 4], last: "v4" });
      for (const [step, header] of headers.entries()) {
        const loaded = await checkpointer().get(writer.threadId, { checkpointId: header.id });
        expect(loaded?.checkpoint.id).toBe(header.id);
        expect(loaded?.checkpoint.step).toBe(step);
        expect(loaded?.checkpoint.parentId).toBe(step === 0 ? null : headers[step - 1]!.id);
        expect(rebuild(loaded!)).toEqual({ log: [...Array(step + 1).keys()], last: `v${step}` });
      }
    });

    it("keeps namespaces apart", async () => {
      const threadId = uniqueThreadId("namespaces");
      const root = new ThreadWriter(checkpointer(), threadId);
      const child = new ThreadWriter(checkpointer(), threadId, "research:task-1");
      await root.write({ last: "root" });
      await child.write({ last: "child" });
      await child.write({ last: "child again" });
      expect(rebuild((await checkpointer().get(threadId))!)).toEqual({ last: "root" });
      const loaded = await checkpointer().get(threadId, { namespace: "research:task-1" });
      expect(loaded?.checkpoint.namespace).toBe("research:task-1");
      expect(rebuild(loaded!)).toEqual({ last: "child again" });
      await expect(
        checkpointer().get(threadId, { namespace: "research:task-1", checkpointId: root.head!.id }),
      ).rejects.toBeInstanceOf(CheckpointNotFoundError);
    });

    it("names the thread and checkpoint when a checkpoint id is unknown", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("unknown-id"));
      await writer.write({ last: 1 });
      const missing = "01900000-0000-7000-8000-000000000000";
      const error = await checkpointer()
        .get(writer.threadId, { checkpointId: missing })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointNotFoundError);
      expect((error as CheckpointNotFoundError).code).toBe("CHECKPOINT_NOT_FOUND");
      expect((error as Error).message).toContain(missing);
      expect((error as Error).message).toContain(writer.threadId);
      await expect(
        checkpointer().get(uniqueThreadId("no-thread"), { checkpointId: missing }),
      ).rejects.toBeInstanceOf(CheckpointNotFoundError);
    });

    it("rejects a missing or malformed thread id with an error that names the argument", async () => {
      for (const bad of ["", undefined, null, 42, "a\u0000b"]) {
        const error = await checkpointer()
          .get(bad as string)
          .catch((e: unknown) => e);
        expect(error, String(bad)).toBeInstanceOf(InvalidArgumentError);
        expect((error as Error).message).toContain("threadId");
      }
      await expect(
        checkpointer().putPendingWrites({ threadId: "", checkpointId: "x" }, []),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(
        checkpointer().deleteThread(undefined as unknown as string),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });
}
