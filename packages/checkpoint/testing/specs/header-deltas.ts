import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CheckpointHeader, PlannedTask } from "../../src/checkpoint.js";
import type { Checkpointer, ThreadExport } from "../../src/checkpointer.js";
import { CorruptRecordError } from "../../src/errors.js";
import { loadGoldenFixtures } from "../golden.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

/**
 * Since format 3 a header may be stored as a delta from its parent's, with a
 * full one every 16 checkpoints of a chain. Whatever is stored, every get and
 * every page of list must give back exactly the headers that were put.
 */

/** Long chains: snapshots only every 40 checkpoints, so a chain crosses anchors 16 and 32. */
const POLICY = { factor: 1_000, minBytes: 1e9, maxChain: 40 };

type Versions = Pick<CheckpointHeader, "channelVersions" | "versionsSeen" | "next">;

/** What a header must decode to; key order included, as format 2 kept it. */
function shape(header: Versions): string {
  return JSON.stringify([header.channelVersions, header.versionsSeen, header.next]);
}

/** Every checkpoint by get, and the whole history by list at every page size from 1 to 20. */
async function expectStored(
  checkpointer: Checkpointer,
  threadId: string,
  expected: ReadonlyMap<string, Versions>,
): Promise<void> {
  for (const [id, header] of expected) {
    const loaded = await checkpointer.get(threadId, { checkpointId: id });
    expect(shape(loaded!.checkpoint), `get ${id}`).toBe(shape(header));
  }
  const newestFirst = [...expected.keys()].sort().reverse();
  for (let size = 1; size <= 20; size += 1) {
    const listed: CheckpointHeader[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await collect(
        checkpointer.list(threadId, { limit: size, ...(before === undefined ? {} : { before }) }),
      );
      listed.push(...page);
      if (page.length < size) break;
      before = page.at(-1)!.id;
    }
    expect(
      listed.map((h) => h.id),
      `list by ${size}`,
    ).toEqual(newestFirst);
    for (const header of listed) {
      expect(shape(header), `list by ${size}: ${header.id}`).toBe(shape(expected.get(header.id)!));
    }
  }
}

/** How a stored header is kept: "delta" (five parts) or "full". */
function storedKinds(exported: ThreadExport): Map<string, "delta" | "full"> {
  return new Map(
    exported.checkpoints.map((record) => {
      const parsed: unknown = JSON.parse(record.header);
      const delta = record.formatVersion >= 3 && Array.isArray(parsed) && parsed.length === 5;
      return [record.id, delta ? "delta" : "full"];
    }),
  );
}

/** A step of the runtime's 10-node chain: node k ran, wrote "log" and the branch to the next. */
function chainStep(step: number, parent: CheckpointHeader | null): Versions {
  const k = step % 10;
  const channelVersions: Record<string, number> = {
    ...(parent?.channelVersions ?? {
      "branch:to:n0": 1,
      log: 0,
      ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`branch:to:n${i + 1}`, 0])),
    }),
  };
  channelVersions.log = (channelVersions.log ?? 0) + 1;
  const to = `branch:to:n${(k + 1) % 10}`;
  channelVersions[to] = (channelVersions[to] ?? 0) + 1;
  const versionsSeen = {
    ...(parent?.versionsSeen ??
      Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [`n${i}`, { [`branch:to:n${i}`]: 0 }]),
      )),
    [`n${k}`]: { [`branch:to:n${k}`]: channelVersions[`branch:to:n${k}`] ?? 0 },
  };
  const next: PlannedTask[] = [{ id: `task-${step}`, node: `n${(k + 1) % 10}`, triggers: [to] }];
  return { channelVersions, versionsSeen, next };
}

export function headerDeltasSpec(options: ConformanceOptions): void {
  describe("header deltas", () => {
    const checkpointer = useCheckpointer(options, POLICY);

    it("a 70-checkpoint chain crossing four anchors: every get and every list page size", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("header-chain"));
      const expected = new Map<string, Versions>();
      for (let step = 0; step < 70; step += 1) {
        const versions = chainStep(step, writer.head);
        const header = await writer.write({ log: step }, versions);
        expected.set(header.id, versions);
      }
      await expectStored(checkpointer(), writer.threadId, expected);
      // The test would pass on full headers too: check that deltas were stored, and where full ones were.
      const exported = await checkpointer().exportThread(writer.threadId);
      const kinds = storedKinds(exported);
      for (const record of exported.checkpoints) {
        expect(kinds.get(record.id), `chain length ${record.chainLength}`).toBe(
          record.chainLength % 16 === 0 ? "full" : "delta",
        );
      }
    });

    it("each listed header is the caller's own: changing one changes no other", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("header-own"));
      const expected = new Map<string, string>();
      for (let step = 0; step < 12; step += 1) {
        const versions = chainStep(step, writer.head);
        expected.set((await writer.write({ log: step }, versions)).id, shape(versions));
      }
      for await (const header of checkpointer().list(writer.threadId)) {
        expect(shape(header)).toBe(expected.get(header.id));
        for (const seen of Object.values(header.versionsSeen)) {
          (seen as Record<string, number>)["branch:to:n0"] = -1;
        }
        (header.channelVersions as Record<string, number>).log = -1;
      }
    });

    it("random histories (bumps, new and removed channels and nodes, forks) decode to what was put", async () => {
      const step = fc.record({
        fork: fc.option(fc.nat(), { freq: 8 }),
        bumps: fc.array(fc.nat(7), { maxLength: 3 }),
        addChannel: fc.boolean(),
        removeChannel: fc.option(fc.nat(7), { freq: 3 }),
        seen: fc.option(fc.nat(4)),
        removeNode: fc.option(fc.nat(4), { freq: 6 }),
        reorder: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 45 }), async (steps) => {
          const threadId = uniqueThreadId("header-random");
          const expected = new Map<string, Versions>();
          const written: CheckpointHeader[] = [];
          let head: CheckpointHeader | null = null;
          let channels = 0;
          for (const [index, s] of steps.entries()) {
            const from: CheckpointHeader | null =
              s.fork !== null && written.length > 0 ? written[s.fork % written.length]! : head;
            let channelVersions: Record<string, number> = { ...from?.channelVersions };
            const names = Object.keys(channelVersions);
            for (const bump of s.bumps) {
              const name = names[bump % Math.max(names.length, 1)];
              if (name !== undefined) channelVersions[name] = channelVersions[name]! + 1;
            }
            if (s.addChannel || names.length === 0) channelVersions[`c${(channels += 1)}`] = 1;
            if (s.removeChannel !== null && names.length > 1) {
              delete channelVersions[names[s.removeChannel % names.length]!];
            }
            // Keys in another order than the parent's: the store must keep it (a full header).
            if (s.reorder && index % 7 === 3) {
              channelVersions = Object.fromEntries(Object.entries(channelVersions).reverse());
            }
            const versionsSeen: Record<string, Record<string, number>> = {
              ...from?.versionsSeen,
            };
            const seenChannels = Object.keys(channelVersions);
            if (s.seen !== null) {
              // A new node, or a new map for one that ran (it may name a channel no longer versioned).
              versionsSeen[`node${s.seen}`] = {
                [seenChannels[index % seenChannels.length]!]: index,
                [`gone${index % 3}`]: index,
              };
            }
            if (s.removeNode !== null) delete versionsSeen[`node${s.removeNode}`];
            const next: PlannedTask[] = [
              { id: `task-${index}`, node: "node0", triggers: seenChannels.slice(0, 2) },
            ];
            const header: CheckpointHeader = await checkpointer().put({
              checkpoint: {
                threadId,
                step: index,
                channelVersions,
                versionsSeen,
                next,
                writes: [{ taskId: `task-${index}`, channel: "n", value: index }],
              },
              parent: from,
              ...(from !== head ? { expectedHeadId: head?.id ?? null } : {}),
              snapshot: () => ({ n: index }),
            });
            expected.set(header.id, { channelVersions, versionsSeen, next });
            written.push(header);
            head = header;
          }
          await expectStored(checkpointer(), threadId, expected);
        }),
        { numRuns: 12 },
      );
    });

    it("continues a format-2 thread in format 3: the new headers are deltas from the old ones", async () => {
      const [, fixture] = loadGoldenFixtures().find(([name]) => name === "v2/thread.json")!;
      const threadId = uniqueThreadId("header-v2");
      await checkpointer().importThread({
        ...fixture,
        threadId,
        checkpoints: fixture.checkpoints.map((c) => ({ ...c, threadId })),
        pendingWrites: fixture.pendingWrites.map((w) => ({ ...w, threadId })),
      });
      const loaded = (await checkpointer().get(threadId))!;
      expect(loaded.checkpoint.formatVersion).toBe(2);
      const writer = ThreadWriter.fork(
        new ThreadWriter(checkpointer(), threadId),
        loaded.checkpoint,
        rebuild(loaded),
      );
      const expected = new Map<string, Versions>();
      const states = new Map<string, Record<string, unknown>>();
      for (const header of await collect(checkpointer().list(threadId))) {
        expected.set(header.id, header);
        states.set(
          header.id,
          rebuild((await checkpointer().get(threadId, { checkpointId: header.id }))!),
        );
      }
      for (let step = 0; step < 20; step += 1) {
        const parent = writer.head!;
        const versions = {
          channelVersions: {
            ...parent.channelVersions,
            log: (parent.channelVersions.log ?? 0) + 1,
          },
          versionsSeen: { ...parent.versionsSeen, agent: { log: step } },
          next: [{ id: `more-${step}`, node: "agent", triggers: ["log"] }],
        };
        const header = await writer.write({ log: `more ${step}` }, versions);
        expected.set(header.id, versions);
        states.set(header.id, writer.state);
      }
      await expectStored(checkpointer(), threadId, expected);
      for (const [id, state] of states) {
        expect(rebuild((await checkpointer().get(threadId, { checkpointId: id }))!)).toEqual(state);
      }
      const exported = await checkpointer().exportThread(threadId);
      const kinds = storedKinds(exported);
      const byId = new Map(exported.checkpoints.map((c) => [c.id, c]));
      // The first new checkpoint is a delta from the old head, a format-2 record.
      const first = exported.checkpoints.find(
        (c) => c.formatVersion === 3 && byId.get(c.parentId ?? "")?.formatVersion === 2,
      )!;
      expect(kinds.get(first.id)).toBe("delta");
    });

    it("prune keeps every header a kept delta decodes from", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("header-prune"));
      const expected = new Map<string, Versions>();
      for (let step = 0; step < 30; step += 1) {
        const versions = chainStep(step, writer.head);
        const header = await writer.write({ log: step }, versions);
        expected.set(header.id, versions);
      }
      await checkpointer().prune({ threadId: writer.threadId, keepLast: 3 });
      const kept = new Map(
        (await collect(checkpointer().list(writer.threadId))).map((h) => [
          h.id,
          expected.get(h.id)!,
        ]),
      );
      // The newest 3 are deltas (chain lengths 27 to 29); their anchor at 16 and all between stay.
      expect(kept.size).toBeGreaterThanOrEqual(14);
      await expectStored(checkpointer(), writer.threadId, kept);
    });

    it("writes a full header from a parent whose versions are not the stored ones", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("header-view"));
      await writer.write({ log: 0 }, chainStep(0, null));
      await writer.write({ log: 1 }, chainStep(1, writer.head));
      // A caller's view of the parent (as the runtime's node renames build one): a delta
      // from it would decode, from the stored parent, to another header than the one put.
      const stored = writer.head!;
      const view = { ...stored, channelVersions: { ...stored.channelVersions, renamed: 1 } };
      writer.head = view;
      const versions = chainStep(2, view);
      const header = await writer.write({ log: 2 }, versions);
      const loaded = await checkpointer().get(writer.threadId, { checkpointId: header.id });
      expect(shape(loaded!.checkpoint)).toBe(shape(versions));
      const kinds = storedKinds(await checkpointer().exportThread(writer.threadId));
      expect([...kinds.values()]).toEqual(["full", "delta", "full"]);
    });

    it("refuses an import whose delta header cannot be resolved", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("header-damaged"));
      for (let step = 0; step < 3; step += 1)
        await writer.write({ log: step }, chainStep(step, writer.head));
      const exported = await checkpointer().exportThread(writer.threadId);
      const [base, ...rest] = [...exported.checkpoints].sort((a, b) => (a.id < b.id ? -1 : 1));
      // The base's full header rewritten as a delta: its deltas no longer reach a full header.
      const threadId = uniqueThreadId("header-damaged-copy");
      const damaged = {
        ...exported,
        threadId,
        checkpoints: [{ ...base!, header: "[[],[],[],[],[]]" }, ...rest].map((c) => ({
          ...c,
          threadId,
        })),
        pendingWrites: [],
      };
      await expect(checkpointer().importThread(damaged)).rejects.toBeInstanceOf(CorruptRecordError);
      expect(await checkpointer().get(damaged.threadId)).toBeUndefined();
    });
  });
}
