import { describe, expect, it } from "vitest";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

const POLICY = { factor: 1, minBytes: 300, maxChain: 6 };

export function chainsSpec(options: ConformanceOptions): void {
  describe("snapshot plus delta chains", () => {
    const checkpointer = useCheckpointer(options, POLICY);

    it("stores deltas, snapshots only when due, and rebuilds every checkpoint exactly", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("chains"));
      const expected: unknown[][] = [];
      const ids: string[] = [];
      for (let step = 0; step < 40; step += 1) {
        const header = await writer.write({ log: `entry ${step} `.padEnd(40, "."), last: step });
        ids.push(header.id);
        expected.push(writer.state.log as unknown[]);
      }
      // Snapshots are occasional: far fewer than one per checkpoint, but more than one.
      expect(writer.snapshotCalls).toBeGreaterThan(1);
      expect(writer.snapshotCalls).toBeLessThan(20);
      for (const [step, id] of ids.entries()) {
        const loaded = (await checkpointer().get(writer.threadId, { checkpointId: id }))!;
        expect(rebuild(loaded)).toEqual({ log: expected[step], last: step });
        expect(loaded.deltas.length).toBeLessThan(POLICY.maxChain);
        expect(loaded.deltas.at(-1)?.checkpointId ?? loaded.base.checkpointId).toBe(id);
        expect(loaded.checkpoint.chain.baseId).toBe(loaded.base.checkpointId);
        expect(loaded.deltas.map((d) => d.step)).toEqual(
          [...Array(loaded.deltas.length).keys()].map((i) => step - loaded.deltas.length + 1 + i),
        );
      }
    });

    it("does not rewrite a growing log in snapshots; replaced values still make them due", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("chain-growth"));
      writer.accumulating = new Set(["log"]);
      const expected: Record<string, unknown>[] = [];
      const ids: string[] = [];
      // Each entry is bigger than the whole budget of the old rule: every few steps a snapshot.
      for (let step = 0; step < POLICY.maxChain - 1; step += 1) {
        ids.push((await writer.write({ log: `entry ${step} `.padEnd(400, ".") })).id);
        expected.push({ ...writer.state });
      }
      // Only the thread's first checkpoint held one: the log's deltas are its state.
      expect(writer.snapshotCalls).toBe(1);
      for (const [step, id] of ids.entries()) {
        const loaded = (await checkpointer().get(writer.threadId, { checkpointId: id }))!;
        expect(rebuild(loaded)).toEqual(expected[step]);
      }
      // A value that replaces itself is read in vain on a load once replaced: it does make one due.
      const replacing = new ThreadWriter(checkpointer(), uniqueThreadId("chain-replace"));
      replacing.accumulating = new Set(["log"]);
      await replacing.write({ log: "first entry" });
      await replacing.write({ last: "y".repeat(2 * POLICY.minBytes) });
      expect(replacing.snapshotCalls).toBe(2);
      expect(replacing.head!.chain).toMatchObject({ baseId: replacing.head!.id, length: 0 });
      expect(rebuild((await checkpointer().get(replacing.threadId))!)).toEqual(replacing.state);
    });

    it("takes a snapshot when the chain limit is reached even if deltas are tiny", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("chain-limit"));
      for (let step = 0; step < 3 * POLICY.maxChain; step += 1) await writer.write({ last: step });
      const headers = await collect(checkpointer().list(writer.threadId));
      expect(Math.max(...headers.map((h) => h.chain.length))).toBe(POLICY.maxChain - 1);
      expect(headers.filter((h) => h.chain.length === 0)).toHaveLength(3);
    });

    it("snapshots when the deltas outgrow the last snapshot", async () => {
      const writer = new ThreadWriter(checkpointer(), uniqueThreadId("chain-bytes"));
      await writer.write({ log: "x".repeat(1500) });
      // Each delta is about a third of the snapshot: the third one pushes the chain past it.
      await writer.write({ last: "y".repeat(500) });
      await writer.write({ last: "y".repeat(500) });
      const before = writer.snapshotCalls;
      await writer.write({ last: "y".repeat(500) });
      expect(writer.snapshotCalls).toBe(before + 1);
      expect(writer.head!.chain).toMatchObject({ baseId: writer.head!.id, length: 0 });
    });
  });
}
