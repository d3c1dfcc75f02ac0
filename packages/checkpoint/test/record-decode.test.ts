import { describe, expect, it } from "vitest";
import { CorruptRecordError, MemoryCheckpointer } from "@waypoint/checkpoint";
import { decodeHeader, type EncodedCheckpoint } from "@waypoint/checkpoint/backend";
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
