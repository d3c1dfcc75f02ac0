import { describe, expect, it } from "vitest";
import { CheckpointConflictError } from "../../src/errors.js";
import {
  type ConformanceOptions,
  ThreadWriter,
  collect,
  rebuild,
  uniqueThreadId,
  useCheckpointer,
} from "../harness.js";

export function forksSpec(options: ConformanceOptions): void {
  describe("forks", () => {
    // Small snapshots budget, so that both branches cross several snapshot boundaries.
    const checkpointer = useCheckpointer(options, { factor: 1, minBytes: 200, maxChain: 4 });

    it("keeps two branches from one parent isolated, before and after snapshots", async () => {
      const main = new ThreadWriter(checkpointer(), uniqueThreadId("fork"));
      for (let step = 0; step < 5; step += 1) await main.write({ log: `common ${step}` });
      const forkPoint = main.head!;
      const stateAtFork = { ...main.state };
      for (let step = 0; step < 12; step += 1)
        await main.write({ log: `main ${step}`, last: "main" });

      // Time travel: a new branch from the older checkpoint, while main is the head.
      const branch = ThreadWriter.fork(main, forkPoint, stateAtFork);
      const firstOnBranch = await branch.write(
        { log: "branch 0", last: "branch" },
        { expectedHeadId: main.head!.id },
      );
      expect(firstOnBranch.parentId).toBe(forkPoint.id);
      for (let step = 1; step < 12; step += 1)
        await branch.write({ log: `branch ${step}`, last: "branch" });

      const mainLoaded = await checkpointer().get(main.threadId, { checkpointId: main.head!.id });
      const branchLoaded = await checkpointer().get(main.threadId);
      expect(branchLoaded?.checkpoint.id).toBe(branch.head!.id);
      expect(rebuild(mainLoaded!)).toEqual(main.state);
      expect(rebuild(branchLoaded!)).toEqual(branch.state);
      const branchLog = rebuild(branchLoaded!).log as string[];
      expect(branchLog.filter((entry) => entry.startsWith("main"))).toEqual([]);
      expect(
        (rebuild(mainLoaded!).log as string[]).filter((entry) => entry.startsWith("branch")),
      ).toEqual([]);
      // Every checkpoint of either branch still rebuilds to its own branch's values.
      for (const header of await collect(checkpointer().list(main.threadId))) {
        const log = rebuild((await checkpointer().get(main.threadId, { checkpointId: header.id }))!)
          .log as string[];
        const kinds = new Set(log.map((entry) => entry.split(" ")[0]));
        expect(kinds.has("main") && kinds.has("branch"), header.id).toBe(false);
      }
    });

    it("lets the old branch continue only as an explicit fork against the new head", async () => {
      const main = new ThreadWriter(checkpointer(), uniqueThreadId("fork-continue"));
      await main.write({ log: "a" });
      const tip = await main.write({ log: "b" });
      const branch = ThreadWriter.fork(
        main,
        (await collect(checkpointer().list(main.threadId)))[1]!,
        { log: ["a"] },
      );
      await branch.write({ log: "c" }, { expectedHeadId: tip.id });
      // main's writer still thinks its tip is the head: that is a conflict, not a silent fork.
      await expect(main.write({ log: "d" })).rejects.toBeInstanceOf(CheckpointConflictError);
      const resumed = await main.write({ log: "d" }, { expectedHeadId: branch.head!.id });
      expect(resumed.parentId).toBe(tip.id);
      expect(rebuild((await checkpointer().get(main.threadId))!)).toEqual({ log: ["a", "b", "d"] });
      expect(
        rebuild((await checkpointer().get(main.threadId, { checkpointId: branch.head!.id }))!),
      ).toEqual({
        log: ["a", "c"],
      });
    });
  });
}
