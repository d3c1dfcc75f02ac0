import { describe, expect, it } from "vitest";
import {
  type ConformanceOptions,
  ThreadWriter,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

const THREADS = 40;
const STEPS = 8;

export function concurrencySpec(options: ConformanceOptions): void {
  describe("many threads at once", () => {
    const checkpointer = useCheckpointer(options, { factor: 1, minBytes: 100, maxChain: 3 });

    it(`writes ${THREADS} threads of ${STEPS} steps concurrently without mixing them`, async () => {
      const writers = Array.from(
        { length: THREADS },
        (_, index) => new ThreadWriter(checkpointer(), uniqueThreadId(`many-${index}`)),
      );
      await Promise.all(
        writers.map(async (writer, index) => {
          for (let step = 0; step < STEPS; step += 1) {
            await writer.write({ log: `${index}:${step}` });
            if (step % 3 === 0) {
              await checkpointer().putPendingWrites(
                { threadId: writer.threadId, checkpointId: writer.head!.id },
                [{ taskId: `t${step}`, idx: 0, channel: "log", value: index }],
              );
            }
          }
        }),
      );
      const loaded = await Promise.all(
        writers.map((writer) => checkpointer().get(writer.threadId)),
      );
      for (const [index, result] of loaded.entries()) {
        expect(rebuild(result!)).toEqual({
          log: Array.from({ length: STEPS }, (_, step) => `${index}:${step}`),
        });
        expect(result!.checkpoint.step).toBe(STEPS - 1);
      }
      const seen = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await checkpointer().listThreads({ limit: 7, after: cursor });
        for (const thread of page.threads) seen.add(thread.threadId);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      for (const writer of writers) expect(seen.has(writer.threadId)).toBe(true);
    });
  });
}
