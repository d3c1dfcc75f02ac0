import { describe, expect, it } from "vitest";
import { FORMAT_VERSION } from "../../src/checkpoint.js";
import type { Money } from "../harness.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";
import { sampleValues } from "../sample-values.js";

export function roundTripSpec(options: ConformanceOptions): void {
  describe("round trips", () => {
    const checkpointer = useCheckpointer(options);

    it("returns every supported value exactly, from a snapshot and from a delta", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("round-trip"));
      await writer.write({ fromSnapshot: sampleValues() });
      await writer.write({ fromDelta: sampleValues() });
      const loaded = await checkpointer().get(writer.threadId);
      expect(loaded?.base.values).toHaveProperty("fromSnapshot");
      expect(loaded?.deltas.at(-1)?.writes[0]?.channel).toBe("fromDelta");
      const state = rebuild(loaded!);
      for (const channel of ["fromSnapshot", "fromDelta"]) {
        const value = state[channel] as ReturnType<typeof sampleValues>;
        expectSameValues(value, sampleValues());
      }
    });

    it("keeps metadata, the plan with Send payloads, versions and the header fields", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("header"));
      const payload = { url: new URL("https://example.org/page/1"), fetchedAt: new Date(5) };
      const put = await writer.write(
        { log: "first" },
        {
          metadata: { source: "input", step: 0, tags: ["a", "b"], nested: { ok: true, n: null } },
          next: [
            { id: "t1", node: "fetch", triggers: [], send: { index: 0, payload } },
            { id: "t2", node: "summarise", triggers: ["log", "pages"] },
          ],
        },
      );
      const loaded = await checkpointer().get(writer.threadId);
      const checkpoint = loaded!.checkpoint;
      expect(checkpoint.id).toBe(put.id);
      expect(checkpoint.threadId).toBe(writer.threadId);
      expect(checkpoint.namespace).toBe("");
      expect(checkpoint.parentId).toBeNull();
      expect(checkpoint.step).toBe(0);
      expect(checkpoint.formatVersion).toBe(FORMAT_VERSION);
      expect(checkpoint.createdAt).toBeInstanceOf(Date);
      expect(checkpoint.createdAt.getTime()).toBe(put.createdAt.getTime());
      expect(checkpoint.metadata).toEqual({
        source: "input",
        step: 0,
        tags: ["a", "b"],
        nested: { ok: true, n: null },
      });
      expect(checkpoint.channelVersions).toEqual({ log: 1 });
      expect(checkpoint.versionsSeen).toEqual({ agent: { log: 0 } });
      expect(checkpoint.next).toEqual([
        { id: "t1", node: "fetch", triggers: [], send: { index: 0, payload } },
        { id: "t2", node: "summarise", triggers: ["log", "pages"] },
      ]);
      const revived = checkpoint.next[0]?.send?.payload as typeof payload;
      expect(revived.url).toBeInstanceOf(URL);
      expect(revived.fetchedAt).toBeInstanceOf(Date);
      expect(checkpoint.writes).toEqual([{ taskId: "task-0-0", channel: "log", value: "first" }]);
    });

    it("keeps pending writes exactly", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("pending-values"));
      const head = await writer.write({ log: 1 });
      await checkpointer().putPendingWrites({ threadId: writer.threadId, checkpointId: head.id }, [
        { taskId: "a", idx: 0, channel: "values", value: sampleValues() },
      ]);
      const loaded = await checkpointer().get(writer.threadId);
      expectSameValues(
        loaded!.pendingWrites[0]!.value as ReturnType<typeof sampleValues>,
        sampleValues(),
      );
    });
  });
}

function expectSameValues(
  actual: ReturnType<typeof sampleValues>,
  expected: ReturnType<typeof sampleValues>,
): void {
  const { nullPrototype, error, sameTwice, ...rest } = expected;
  for (const [key, value] of Object.entries(rest)) {
    expect(actual[key], key).toEqual(value);
    if (value !== null && typeof value === "object") {
      expect(Object.getPrototypeOf(actual[key]), `${key} prototype`).toBe(
        Object.getPrototypeOf(value),
      );
    }
  }
  expect(Object.is(actual.negativeZero, -0)).toBe(true);
  expect("missing" in actual).toBe(true);
  expect((actual.nested as { list: unknown[] }).list).toHaveLength(3);
  expect((actual.money as Money).format()).toBe("1999 EUR");
  const loadedError = actual.error as Error;
  expect(loadedError).toBeInstanceOf(Error);
  expect(loadedError.name).toBe((error as Error).name);
  expect(loadedError.message).toBe("outer");
  expect((loadedError.cause as Error).message).toBe("inner cause");
  const [first, second] = actual.sameTwice as object[];
  expect(first).toEqual((sameTwice as object[])[0]);
  expect(first).toBe(second);
  // Null-prototype objects come back as ordinary objects with the same keys.
  expect(actual.nullPrototype).toEqual({ ...(nullPrototype as object) });
}
