import { describe, expect, it } from "vitest";
import type { CheckpointHeader, JsonValue } from "../../src/checkpoint.js";
import type { ListOptions } from "../../src/checkpointer.js";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

const SOURCES = ["input", "loop", "loop", "update", "loop", "loop", "fork"] as const;

export function listSpec(options: ConformanceOptions): void {
  describe("list", () => {
    const checkpointer = useCheckpointer(options);

    async function writeHistory(): Promise<{ threadId: string; headers: CheckpointHeader[] }> {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("list"));
      const headers: CheckpointHeader[] = [];
      for (const [step, source] of SOURCES.entries()) {
        const metadata = {
          source,
          step,
          tags: step % 2 === 0 ? ["even"] : ["odd"],
          by: { user: step < 3 ? "ana" : "bo" },
        };
        headers.push(await writer.write({ log: step }, { metadata }));
      }
      return { threadId: writer.threadId, headers };
    }

    it("lists newest first, with every combination of before, limit and filter", async () => {
      const { threadId, headers } = await writeHistory();
      const befores = [
        undefined,
        headers[0]!.id,
        headers[3]!.id,
        headers[6]!.id,
        "ffffffff-ffff-7fff-bfff-ffffffffffff",
      ];
      const limits = [undefined, 1, 2, 100];
      const filters: (Record<string, JsonValue> | undefined)[] = [
        undefined,
        {},
        { source: "loop" },
        { source: "loop", step: 4 },
        { tags: ["even"] },
        { by: { user: "bo" } },
        { source: "nowhere" },
        { absent: null },
      ];
      for (const before of befores) {
        for (const limit of limits) {
          for (const filter of filters) {
            const query: ListOptions = { before, limit, filter };
            const got = (await collect(checkpointer().list(threadId, query))).map((h) => h.id);
            const expected = headers
              .filter((h) => before === undefined || h.id < before)
              .filter(
                (h) =>
                  filter === undefined ||
                  Object.entries(filter).every(
                    ([k, v]) => JSON.stringify(h.metadata[k]) === JSON.stringify(v),
                  ),
              )
              .reverse()
              .slice(0, limit ?? Infinity)
              .map((h) => h.id);
            expect(got, JSON.stringify(query)).toEqual(expected);
          }
        }
      }
    });

    it("returns headers with the plan and metadata but no writes or state", async () => {
      const { threadId, headers } = await writeHistory();
      const [newest] = await collect(checkpointer().list(threadId, { limit: 1 }));
      expect(newest).toMatchObject({
        id: headers[6]!.id,
        parentId: headers[5]!.id,
        step: 6,
        threadId,
        namespace: "",
        metadata: { source: "fork", step: 6 },
        next: [{ id: "task-7", node: "agent", triggers: ["log"] }],
      });
      expect(newest).not.toHaveProperty("writes");
      expect(newest).not.toHaveProperty("snapshot");
      expect(newest!.chain.baseId).toBeTypeOf("string");
    });

    it("lists nothing for an unknown thread or namespace, and pages with before", async () => {
      const { threadId, headers } = await writeHistory();
      expect(await collect(checkpointer().list(uniqueThreadId("nothing")))).toEqual([]);
      expect(await collect(checkpointer().list(threadId, { namespace: "other" }))).toEqual([]);
      const paged: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await collect(checkpointer().list(threadId, { limit: 3, before }));
        if (page.length === 0) break;
        paged.push(...page.map((h) => h.id));
        before = page.at(-1)!.id;
      }
      expect(paged).toEqual(headers.map((h) => h.id).reverse());
    });

    it("rejects a limit that is not a positive integer", async () => {
      const { threadId } = await writeHistory();
      for (const limit of [0, -1, 1.5]) {
        await expect(collect(checkpointer().list(threadId, { limit }))).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      }
    });
  });
}
