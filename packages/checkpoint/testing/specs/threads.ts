import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CheckpointerClosedError, InvalidArgumentError } from "../../src/errors.js";
import { ERROR_CHANNEL, INTERRUPT_CHANNEL, RESUME_CHANNEL } from "../../src/pending-writes.js";
import type { ThreadStatus } from "../../src/threads.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

export function threadsSpec(options: ConformanceOptions): void {
  describe("thread summaries", () => {
    const checkpointer = useCheckpointer(options);

    it("reports each thread's head and whether it is finished, interrupted, failed or pending", async () => {
      const make = async (label: string, pending: string[], next = true) => {
        const writer = new ThreadWriter(checkpointer(), uniqueThreadId(label));
        await writer.write({ log: 0 });
        const head = await writer.write({ log: 1 }, next ? {} : { next: [] });
        // Each channel goes to its own slot, except a resume, which replaces the interrupt before it.
        let idx = 0;
        for (const channel of pending) {
          if (channel !== RESUME_CHANNEL) idx += 1;
          await checkpointer().putPendingWrites(
            { threadId: writer.threadId, checkpointId: head.id },
            [{ taskId: "task", idx, channel, value: channel }],
          );
        }
        return { writer, head };
      };
      const threads: Record<ThreadStatus | "resumed", Awaited<ReturnType<typeof make>>> = {
        finished: await make("finished", [], false),
        pending: await make("pending", ["log"]),
        interrupted: await make("interrupted", [INTERRUPT_CHANNEL]),
        resumed: await make("resumed", [INTERRUPT_CHANNEL, RESUME_CHANNEL]),
        failed: await make("failed", [ERROR_CHANNEL]),
      };
      // A child namespace is not a thread of its own.
      await new ThreadWriter(checkpointer(), threads.pending.writer.threadId, "child").write({
        log: "child",
      });

      const page = await checkpointer().listThreads({ limit: 1000 });
      const byId = new Map(page.threads.map((t) => [t.threadId, t]));
      const expected = {
        finished: "finished",
        pending: "pending",
        interrupted: "interrupted",
        resumed: "pending",
        failed: "failed",
      };
      for (const [label, { writer, head }] of Object.entries(threads)) {
        expect(byId.get(writer.threadId), label).toEqual({
          threadId: writer.threadId,
          headId: head.id,
          step: 1,
          updatedAt: head.createdAt,
          status: expected[label as keyof typeof expected],
        });
      }
      const unfinished = await checkpointer().listThreads({ status: ["pending", "interrupted"] });
      expect(unfinished.threads.map((t) => t.threadId).sort()).toEqual(
        [threads.pending, threads.interrupted, threads.resumed]
          .map((t) => t.writer.threadId)
          .sort(),
      );
      await expect(
        checkpointer().listThreads({ status: "running" as ThreadStatus }),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it("pages by thread id with a cursor, and ends with a null cursor", async () => {
      const ids: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        const writer = new ThreadWriter(checkpointer(), uniqueThreadId(`page-${index}`));
        await writer.write({ log: index });
        ids.push(writer.threadId);
      }
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await checkpointer().listThreads({ limit: 2, after });
        expect(page.threads.length).toBeLessThanOrEqual(2);
        seen.push(...page.threads.map((t) => t.threadId));
        after = page.nextCursor ?? undefined;
        pages += 1;
      } while (after !== undefined);
      expect(seen).toEqual([...seen].sort());
      expect(seen.filter((id) => ids.includes(id))).toEqual([...ids].sort());
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    it("can be closed twice, and then refuses work with a clear error", async () => {
      const checkpointerToClose = await options.create({});
      await checkpointerToClose.close();
      await checkpointerToClose.close();
      await expect(checkpointerToClose.get("any")).rejects.toBeInstanceOf(CheckpointerClosedError);
    });
  });

  describe("thread namespaces", () => {
    const checkpointer = useCheckpointer(options);

    it("listNamespaces gives the namespaces that hold a checkpoint, sorted, for any set of names", async () => {
      const store = checkpointer();
      if (store.listNamespaces === undefined) return; // optional: callers fall back to exportThread
      const name = fc.stringMatching(/^[a-z0-9:|_\u00e9\u4e16]{1,12}$/);
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(name, { maxLength: 5 }),
          fc.boolean(),
          async (children, root) => {
            const threadId = uniqueThreadId("namespaces");
            if (root) await new ThreadWriter(store, threadId).write({ log: 0 });
            for (const namespace of children)
              await new ThreadWriter(store, threadId, namespace).write({ log: namespace });
            const expected = [...(root ? [""] : []), ...children].sort();
            expect(await store.listNamespaces!(threadId)).toEqual(expected);
            // A copy has the same namespaces; a deleted thread has none.
            if (expected.length > 0) {
              const copy = uniqueThreadId("namespaces-copy");
              await store.copyThread(threadId, copy);
              expect(await store.listNamespaces!(copy)).toEqual(expected);
              await store.deleteThread(threadId);
            }
            expect(await store.listNamespaces!(threadId)).toEqual([]);
          },
        ),
        { numRuns: 12, seed: 31 },
      );
    });

    it("listNamespaces refuses a bad thread id", async () => {
      const store = checkpointer();
      if (store.listNamespaces === undefined) return;
      await expect(store.listNamespaces("")).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });
}
