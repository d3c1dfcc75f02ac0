import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { newCheckpointId } from "../../src/checkpoint-id.js";
import type { Checkpointer } from "../../src/checkpointer.js";
import type { CreateRunRequest, RunControl, RunRecord, RunStore } from "../../src/runs.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

const LEASE = 60_000;

/**
 * The run queue's contract: queueing and per-thread order, the strategies,
 * leases and fencing, control requests. Every backend passes the same spec.
 */
export function runsSpec(options: ConformanceOptions): void {
  describe("runs", () => {
    const checkpointer = useCheckpointer(options);
    const runs = (): RunStore => storeOf(checkpointer());
    const create = (threadId: string, extra: Partial<CreateRunRequest> = {}) =>
      runs().create({ threadId, graph: "g", input: { topic: "x" }, ...extra });
    const claim = (workerId = "w1", leaseMs = LEASE) => runs().claim({ workerId, leaseMs });

    describe("queueing", () => {
      it("creates a pending run that keeps its input and metadata exactly", async () => {
        const input = { when: new Date("2026-01-02T03:04:05Z"), ids: new Set([1, 2]), big: 7n };
        const run = await runs().create({
          threadId: uniqueThreadId("runs"),
          graph: "research",
          input,
          metadata: { user: "ada" },
        });
        expect(run).toMatchObject({
          status: "pending",
          graph: "research",
          strategy: "enqueue",
          attempts: 0,
          token: 0,
          control: null,
          workerId: null,
          endedAt: null,
          metadata: { user: "ada" },
        });
        const loaded = await runs().get(run.id);
        expect(loaded?.input).toEqual(input);
        expect(loaded?.createdAt).toBeInstanceOf(Date);
        expect(await runs().get("no-such-run")).toBeUndefined();
      });

      it("refuses input it cannot store and queues nothing", async () => {
        const threadId = uniqueThreadId("runs-bad");
        await expect(create(threadId, { input: { f: () => 1 } })).rejects.toMatchObject({
          code: "UNSERIALIZABLE_VALUE",
        });
        await expect(create(threadId, { strategy: "sometimes" as never })).rejects.toMatchObject({
          code: "INVALID_ARGUMENT",
        });
        expect(await runs().list({ threadId })).toEqual([]);
      });

      it("claims the oldest run first, and each run once", async () => {
        const threads = [uniqueThreadId("a"), uniqueThreadId("b"), uniqueThreadId("c")];
        const created = [];
        for (const threadId of threads) created.push(await create(threadId));
        const claims = await Promise.all([claim("w1"), claim("w2"), claim("w3"), claim("w4")]);
        const ids = claims.filter((c) => c !== undefined).map((c) => c.run.id);
        expect(ids.sort()).toEqual(created.map((run) => run.id).sort());
        expect(claims.filter((c) => c === undefined)).toHaveLength(1);
        for (const taken of claims.filter((c) => c !== undefined)) {
          expect(taken.run).toMatchObject({ status: "running", attempts: 1 });
          expect(taken.fence.token).toBe(taken.run.token);
          // On the store's clock, which may differ from this process's: a lease of LEASE from the claim.
          const lease = taken.run.leaseExpiresAt!.getTime() - taken.run.startedAt!.getTime();
          expect(lease).toBeGreaterThan(LEASE - 1000);
          expect(lease).toBeLessThanOrEqual(LEASE + 1000);
        }
      });

      it("runs a thread's runs one at a time, in order", async () => {
        const threadId = uniqueThreadId("fifo");
        const first = await create(threadId);
        const second = await create(threadId);
        const taken = await claim();
        expect(taken?.run.id).toBe(first.id);
        expect(await claim("w2")).toBeUndefined();
        await runs().finish(taken!.fence, { status: "succeeded" });
        expect((await claim("w2"))?.run.id).toBe(second.id);
      });

      it("lists runs newest first, by thread and status, in pages", async () => {
        const threadId = uniqueThreadId("list");
        const made = [];
        for (let i = 0; i < 5; i += 1) made.push(await create(threadId));
        await runs().cancel(made[1]!.id);
        const all = await runs().list({ threadId });
        expect(all.map((run) => run.id)).toEqual(made.map((run) => run.id).reverse());
        const page = await runs().list({ threadId, limit: 2, before: made[3]!.id });
        expect(page.map((run) => run.id)).toEqual([made[2]!.id, made[1]!.id]);
        const cancelled = await runs().list({ threadId, status: "cancelled" });
        expect(cancelled.map((run) => run.id)).toEqual([made[1]!.id]);
      });
    });

    describe("strategies for a busy thread", () => {
      it("reject: fails with THREAD_BUSY naming the active run, and queues nothing", async () => {
        const threadId = uniqueThreadId("reject");
        const first = await create(threadId);
        await expect(create(threadId, { strategy: "reject" })).rejects.toMatchObject({
          code: "THREAD_BUSY",
          data: { activeRunId: first.id },
        });
        expect(await runs().list({ threadId })).toHaveLength(1);
        const taken = await claim();
        await runs().finish(taken!.fence, { status: "succeeded" });
        expect((await create(threadId, { strategy: "reject" })).status).toBe("pending");
      });

      for (const strategy of ["interrupt", "rollback"] as const) {
        it(`${strategy}: asks the running run to stop and queues the new one behind it`, async () => {
          const threadId = uniqueThreadId(strategy);
          await create(threadId);
          const taken = await claim();
          const next = await create(threadId, { strategy });
          expect((await runs().get(taken!.run.id))?.control).toBe(strategy);
          expect((await runs().heartbeat(taken!.fence, LEASE)).control).toBe(strategy);
          expect(await claim("w2")).toBeUndefined();
          await runs().finish(taken!.fence, {
            status: strategy === "interrupt" ? "interrupted" : "cancelled",
          });
          expect((await claim("w2"))?.run.id).toBe(next.id);
        });
      }

      it("a cancel asked for before an interrupt or rollback still ends the run cancelled", async () => {
        const threadId = uniqueThreadId("cancel-stands");
        await create(threadId);
        const taken = await claim();
        await runs().cancel(taken!.run.id);
        await create(threadId, { strategy: "interrupt" });
        await create(threadId, { strategy: "rollback" });
        expect((await runs().heartbeat(taken!.fence, LEASE)).control).toBe("cancel");
      });

      it("interrupt: a paused run ends interrupted at once", async () => {
        const threadId = uniqueThreadId("interrupt-paused");
        const paused = await create(threadId);
        await runs().pause(paused.id);
        const next = await create(threadId, { strategy: "interrupt" });
        expect((await runs().get(paused.id))?.status).toBe("interrupted");
        expect((await claim())?.run.id).toBe(next.id);
      });
    });

    describe("leases and fencing", () => {
      it("gives a run whose lease lapsed to another worker with a new token", async () => {
        const threadId = uniqueThreadId("lapse");
        const run = await create(threadId);
        const first = await claim("w1", 150);
        expect(await claim("w2", 150)).toBeUndefined();
        await sleep(300);
        const second = await claim("w2", LEASE);
        expect(second?.run).toMatchObject({ id: run.id, attempts: 2, workerId: "w2" });
        expect(second!.fence.token).toBeGreaterThan(first!.fence.token);
        await expect(runs().heartbeat(first!.fence, LEASE)).rejects.toMatchObject({
          code: "LEASE_LOST",
        });
        await expect(runs().finish(first!.fence, { status: "succeeded" })).rejects.toMatchObject({
          code: "LEASE_LOST",
        });
        expect((await runs().get(run.id))?.status).toBe("running");
      });

      it("a heartbeat keeps the lease", async () => {
        await create(uniqueThreadId("beat"));
        const taken = await claim("w1", 300);
        let expires = taken!.run.leaseExpiresAt!.getTime();
        for (let i = 0; i < 4; i += 1) {
          await sleep(120);
          const beat = await runs().heartbeat(taken!.fence, 300);
          // Moved on by each beat, on the store's own clock.
          expect(beat.leaseExpiresAt.getTime()).toBeGreaterThan(expires);
          expires = beat.leaseExpiresAt.getTime();
        }
        expect(await claim("w2", 300)).toBeUndefined();
      });

      it("rejects a stale token's checkpoint and pending writes, and writes nothing", async () => {
        const threadId = uniqueThreadId("fence");
        await create(threadId);
        const first = await claim("w1", 100);
        const writer = new ThreadWriter(checkpointer(), threadId);
        await writer.write({ log: "by w1" }, { fence: first!.fence });
        await sleep(250);
        const second = await claim("w2", LEASE);
        await expect(writer.write({ log: "late" }, { fence: first!.fence })).rejects.toMatchObject({
          code: "LEASE_LOST",
        });
        await expect(
          checkpointer().putPendingWrites(
            { threadId, checkpointId: writer.head!.id },
            [{ taskId: "t", idx: 0, channel: "log", value: "late" }],
            { fence: first!.fence },
          ),
        ).rejects.toMatchObject({ code: "LEASE_LOST" });
        const loaded = await checkpointer().get(threadId);
        expect(rebuild(loaded!)).toEqual({ log: ["by w1"] });
        expect(loaded!.pendingWrites).toEqual([]);
        await writer.write({ log: "by w2" }, { fence: second!.fence });
        expect(rebuild((await checkpointer().get(threadId))!)).toEqual({
          log: ["by w1", "by w2"],
        });
      });

      it("stores a fenced put's pending writes with it, and neither under a stale token", async () => {
        const threadId = uniqueThreadId("fence-pending");
        await create(threadId);
        const first = await claim("w1", 100);
        const writer = new ThreadWriter(checkpointer(), threadId);
        const interrupt = { taskId: "t", idx: 0, channel: "__interrupt__", value: { ask: "ok?" } };
        await writer.write({ log: "by w1" }, { fence: first!.fence, pendingWrites: [interrupt] });
        expect((await checkpointer().get(threadId))?.pendingWrites).toEqual([interrupt]);
        await sleep(250);
        const second = await claim("w2", LEASE);
        const id = newCheckpointId(writer.head!.id);
        const late = { taskId: "t", idx: 1, channel: "log", value: "late" };
        await expect(
          writer.write({ log: "late" }, { id, fence: first!.fence, pendingWrites: [late] }),
        ).rejects.toMatchObject({ code: "LEASE_LOST" });
        const loaded = await checkpointer().get(threadId);
        expect(loaded?.checkpoint.id).toBe(writer.head!.id);
        expect(rebuild(loaded!)).toEqual({ log: ["by w1"] });
        expect(loaded!.pendingWrites).toEqual([interrupt]);
        // Nothing was kept under the id either: w2's checkpoint with it has no pending writes.
        await writer.write({ log: "by w2" }, { id, fence: second!.fence });
        expect((await checkpointer().get(threadId))?.pendingWrites).toEqual([]);
      });

      it("rejects writes of a run that has ended", async () => {
        const threadId = uniqueThreadId("ended");
        await create(threadId);
        const taken = await claim();
        await runs().finish(taken!.fence, { status: "succeeded" });
        const writer = new ThreadWriter(checkpointer(), threadId);
        await expect(writer.write({ log: "x" }, { fence: taken!.fence })).rejects.toMatchObject({
          code: "LEASE_LOST",
        });
        expect(await checkpointer().get(threadId)).toBeUndefined();
      });

      it("fails a run claimed more than maxAttempts times instead of running it again", async () => {
        const run = await create(uniqueThreadId("poison"), { maxAttempts: 2 });
        await claim("w1", 50);
        await sleep(120);
        await claim("w2", 50);
        await sleep(120);
        expect(await claim("w3", 50)).toBeUndefined();
        const failed = await runs().get(run.id);
        expect(failed).toMatchObject({ status: "failed", attempts: 2 });
        expect(failed?.error?.code).toBe("RUN_ATTEMPTS_EXHAUSTED");
      });

      it("release gives the run back at once without counting the attempt", async () => {
        const run = await create(uniqueThreadId("release"));
        const taken = await claim("w1");
        const released = await runs().release(taken!.fence);
        expect(released).toMatchObject({ status: "pending", attempts: 0, workerId: null });
        const again = await claim("w2");
        expect(again?.run).toMatchObject({ id: run.id, attempts: 1 });
        expect(again!.fence.token).toBeGreaterThan(taken!.fence.token);
      });

      it("records how a run ended", async () => {
        await create(uniqueThreadId("fail"));
        const taken = await claim();
        const ended = await runs().finish(taken!.fence, {
          status: "failed",
          error: { name: "Error", code: "BOOM", message: "it broke" },
        });
        expect(ended).toMatchObject({
          status: "failed",
          error: { code: "BOOM", message: "it broke" },
          workerId: null,
        });
        expect(ended.endedAt).toBeInstanceOf(Date);
        expect(await runs().get(taken!.run.id)).toMatchObject({ status: "failed" });
      });
    });

    describe("control", () => {
      it("cancels a pending run at once, and a running one through its worker", async () => {
        const pending = await create(uniqueThreadId("cancel-pending"));
        expect((await runs().cancel(pending.id)).status).toBe("cancelled");
        const threadId = uniqueThreadId("cancel-running");
        await create(threadId);
        const taken = await claim();
        expect((await runs().cancel(taken!.run.id)).control).toBe("cancel");
        expect((await runs().heartbeat(taken!.fence, LEASE)).control).toBe("cancel");
        expect((await runs().finish(taken!.fence, { status: "cancelled" })).status).toBe(
          "cancelled",
        );
        expect((await runs().cancel(taken!.run.id)).status).toBe("cancelled");
        await expect(runs().cancel("no-such-run")).rejects.toMatchObject({
          code: "RUN_NOT_FOUND",
        });
      });

      it("reports a control request to the fenced write that follows it", async () => {
        const threadId = uniqueThreadId("control-write");
        await create(threadId);
        const taken = await claim();
        const seen: RunControl[] = [];
        const fence = { ...taken!.fence, onControl: (control: RunControl) => seen.push(control) };
        const writer = new ThreadWriter(checkpointer(), threadId);
        await writer.write({ log: 1 }, { fence });
        expect(seen).toEqual([]);
        await runs().pause(taken!.run.id);
        await writer.write({ log: 2 }, { fence });
        expect(seen).toEqual(["pause"]);
        await checkpointer().putPendingWrites(
          { threadId, checkpointId: writer.head!.id },
          [{ taskId: "t", idx: 0, channel: "log", value: 3 }],
          { fence },
        );
        expect(seen).toEqual(["pause", "pause"]);
      });

      it("pauses and resumes a run", async () => {
        const threadId = uniqueThreadId("pause");
        const run = await create(threadId);
        expect((await runs().pause(run.id)).status).toBe("paused");
        expect(await claim()).toBeUndefined();
        expect((await runs().resume(run.id)).status).toBe("pending");
        const taken = await claim();
        expect((await runs().pause(run.id)).control).toBe("pause");
        const paused = await runs().finish(taken!.fence, { status: "paused" });
        expect(paused).toMatchObject({ status: "paused", control: null, workerId: null });
        expect(paused.endedAt).toBeNull();
        expect(await claim("w2")).toBeUndefined();
        await runs().resume(run.id);
        const again = await claim("w2");
        expect(again?.run).toMatchObject({ id: run.id, attempts: 2 });
        await runs().finish(again!.fence, { status: "succeeded" });
        await expect(runs().resume(run.id)).rejects.toMatchObject({ code: "RUN_STATE" });
        await expect(runs().pause(run.id)).rejects.toMatchObject({ code: "RUN_STATE" });
      });

      it("a resume before the worker acted withdraws the pause", async () => {
        const run = await create(uniqueThreadId("unpause"));
        const taken = await claim();
        await runs().pause(run.id);
        const resumed = await runs().resume(run.id);
        expect(resumed).toMatchObject({ status: "running", control: null });
        expect((await runs().heartbeat(taken!.fence, LEASE)).control).toBeNull();
      });

      it("a paused run holds its thread: later runs wait", async () => {
        const threadId = uniqueThreadId("paused-holds");
        const first = await create(threadId);
        await runs().pause(first.id);
        await create(threadId);
        expect(await claim()).toBeUndefined();
        await runs().cancel(first.id);
        expect(await claim()).toBeDefined();
      });
    });

    describe("retention", () => {
      it("prune deletes runs that ended before the cutoff, batch by batch, and keeps every other", async () => {
        const ended: RunRecord[] = [];
        // A run ends each way a run can end: cancelled, failed, succeeded, interrupted.
        for (const status of ["succeeded", "failed", "interrupted"] as const) {
          await create(uniqueThreadId(`old-${status}`));
          const taken = await claim();
          ended.push(
            await runs().finish(
              taken!.fence,
              status === "failed"
                ? { status, error: { name: "Error", code: "X", message: "x" } }
                : { status },
            ),
          );
        }
        for (let i = 0; i < 2; i += 1) {
          ended.push(await runs().cancel((await create(uniqueThreadId("old-cancelled"))).id));
        }
        await sleep(20);
        // The cutoff comes from the store's own clock (endedAt), not this process's.
        const cutoff = new Date(Math.max(...ended.map((run) => run.endedAt!.getTime())) + 1);
        await sleep(20);
        const late = await runs().cancel((await create(uniqueThreadId("late"))).id);
        const running = await create(uniqueThreadId("running"));
        await claim();
        const paused = await runs().pause((await create(uniqueThreadId("paused"))).id);
        const pending = await create(uniqueThreadId("pending"));

        expect(await runs().prune({ endedBefore: cutoff, batch: 2 })).toEqual({ deleted: 5 });
        for (const run of ended) expect(await runs().get(run.id)).toBeUndefined();
        const listed = (await runs().list({ limit: 1000 })).map((run) => run.id);
        expect(listed).not.toContain(ended[0]!.id);
        for (const run of [late, running, paused, pending]) {
          expect(await runs().get(run.id)).toBeDefined();
          expect(listed).toContain(run.id);
        }
        // Even a cutoff in the future spares what has not ended.
        const future = new Date(Date.now() + 86_400_000);
        expect(await runs().prune({ endedBefore: future })).toEqual({ deleted: 1 });
        expect((await runs().list({ limit: 1000 })).map((run) => run.id).sort()).toEqual(
          [running, paused, pending].map((run) => run.id).sort(),
        );
        // The queue goes on: the pending run is claimed once its thread is free.
        expect((await claim())?.run.id).toBe(pending.id);
      });

      it("prune refuses a cutoff that is not a date and a batch that could never end", async () => {
        const run = await runs().cancel((await create(uniqueThreadId("kept"))).id);
        const later = new Date(run.endedAt!.getTime() + 1);
        for (const endedBefore of [undefined, "2026-01-01", new Date(Number.NaN)]) {
          await expect(
            runs().prune({ endedBefore } as unknown as { endedBefore: Date }),
          ).rejects.toMatchObject({ code: "INVALID_ARGUMENT", data: { argument: "endedBefore" } });
        }
        for (const batch of [0, -1, 2.5]) {
          await expect(runs().prune({ endedBefore: later, batch })).rejects.toMatchObject({
            code: "INVALID_ARGUMENT",
            data: { argument: "batch" },
          });
        }
        expect(await runs().get(run.id)).toBeDefined();
      });
    });
  });
}

function storeOf(checkpointer: Checkpointer): RunStore {
  if (!checkpointer.runs) throw new Error("this checkpointer has no run store");
  return checkpointer.runs;
}
