import { describe, expect, it } from "vitest";
import { MemoryCheckpointer } from "@waypoint/checkpoint";
import { PAGES, replay, runTour } from "../src/tour.js";

describe("checkpoint tour (pnpm demo)", () => {
  it("resumes after losing its process state and ends where an uninterrupted run ends", async () => {
    const straight = await runTour(new MemoryCheckpointer(), "straight");
    const checkpointer = new MemoryCheckpointer();
    for (let attempt = 0; attempt < PAGES.length; attempt += 1) {
      await runTour(checkpointer, "interrupted", { maxSteps: 1 });
    }
    const resumed = replay((await checkpointer.get("interrupted"))!);
    expect(resumed).toEqual(straight);
    expect(new Set(resumed.notes).size).toBe(PAGES.length);
    expect((await checkpointer.listThreads()).threads[0]?.status).toBe("finished");
  });

  it("forks from an old checkpoint without changing the original branch", async () => {
    const checkpointer = new MemoryCheckpointer();
    await runTour(checkpointer, "t");
    const old = [];
    for await (const header of checkpointer.list("t")) old.push(header);
    const fork = await runTour(checkpointer, "t", {
      from: old.find((h) => h.step === 1)!,
      maxSteps: 1,
    });
    expect(fork.notes).toEqual(['read "intro"', 'read "setup"', 'read "supersteps"']);
    const original = replay((await checkpointer.get("t", { checkpointId: old[0]!.id }))!);
    expect(original.notes).toHaveLength(PAGES.length);
  });
});
