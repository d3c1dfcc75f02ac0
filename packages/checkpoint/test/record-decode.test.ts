import { describe, expect, it } from "vitest";
import { CorruptRecordError, MemoryCheckpointer } from "@waypoint/checkpoint";
import { decodeHeader, decodeLoaded, type EncodedCheckpoint } from "@waypoint/checkpoint/backend";
import { ThreadWriter, suiteSerializer } from "@waypoint/checkpoint/testing";

/**
 * A backend hands the shared decoder fields beside the JSON payloads (a
 * Redis hash, a row). Damaged by hand, they give CORRUPT_RECORD naming the
 * thread and checkpoint, never a header with text for a step.
 */
describe("decodeHeader refuses damaged fields", () => {
  async function storedRecord(): Promise<EncodedCheckpoint> {
    const checkpointer = new MemoryCheckpointer({ serializer: suiteSerializer() });
    const writer = new ThreadWriter(checkpointer, "damaged");
    await writer.write({ log: 1 });
    const exported = await checkpointer.exportThread("damaged");
    return exported.checkpoints[0]!;
  }

  const damages: Record<string, Partial<Record<keyof EncodedCheckpoint, unknown>>> = {
    "a step that is text": { step: "3" },
    "a createdAt that is NaN": { createdAt: Number.NaN },
    "a chain length that is null": { chainLength: null },
    "a parent id that is a number": { parentId: 7 },
    "a base id that is missing": { baseId: undefined },
  };
  for (const [label, damage] of Object.entries(damages)) {
    it(label, async () => {
      const record = { ...(await storedRecord()), ...damage } as EncodedCheckpoint;
      const thrown = (() => {
        try {
          decodeHeader(record, suiteSerializer());
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(thrown).toBeInstanceOf(CorruptRecordError);
      expect((thrown as Error).message).toContain(`checkpoint ${record.id} of thread "damaged"`);
      expect((thrown as Error).message).toContain(Object.keys(damage)[0]);
    });
  }

  it("a sound record still decodes", async () => {
    const record = await storedRecord();
    expect(decodeHeader(record, suiteSerializer()).step).toBe(0);
  });
});

/**
 * A format-3 header may be a delta from its parent's: it decodes only with
 * the headers before it in its chain. A backend that reads too few of them,
 * or storage that lost one, gives CORRUPT_RECORD, never a wrong header.
 */
describe("a delta header without the headers it needs", () => {
  async function chain() {
    const checkpointer = new MemoryCheckpointer({ serializer: suiteSerializer() });
    const writer = new ThreadWriter(checkpointer, "deltas");
    for (let step = 0; step < 3; step += 1) await writer.write({ log: step });
    const records = [...(await checkpointer.exportThread("deltas")).checkpoints].sort((a, b) =>
      a.id < b.id ? -1 : 1,
    );
    return { records, target: records[2]! };
  }

  it("decodes with them, and is a delta", async () => {
    const { records, target } = await chain();
    expect((JSON.parse(target.header) as unknown[]).length).toBe(5);
    expect(decodeHeader(target, suiteSerializer(), records).channelVersions).toEqual({ log: 3 });
  });

  it("alone", async () => {
    const { target } = await chain();
    expect(() => decodeHeader(target, suiteSerializer())).toThrow(CorruptRecordError);
  });

  it("when the anchor's header was not read", async () => {
    const { records, target } = await chain();
    const segment = records.map((r) => (r.chainLength === 0 ? { ...r, header: null } : r));
    expect(() => decodeLoaded(target, segment, [], suiteSerializer())).toThrow(
      /header of .* it needs was not read/,
    );
  });

  it("when a parent between it and its anchor is missing", async () => {
    const { records, target } = await chain();
    expect(() => decodeHeader(target, suiteSerializer(), [records[0]!])).toThrow(
      /breaks at .*parent .* missing/,
    );
  });
});
