import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, inject, it } from "vitest";
import { describeReport, runChaos } from "../src/chaos.js";
import { CHAOS_BACKENDS, dropStore, openStore, type ChaosStore } from "../src/stores.js";

const directory = mkdtempSync(join(tmpdir(), "waypoint-chaos-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// The short version of `pnpm chaos`: 40 runs of the 10-step graph, 4 worker
// processes, one killed with SIGKILL every 0.5-2 s and replaced.
for (const backend of CHAOS_BACKENDS) {
  it(`${backend}: every run succeeds with each step's effect once while workers are killed`, async () => {
    const id = Math.random().toString(36).slice(2, 8);
    const store: ChaosStore = {
      backend,
      location:
        backend === "sqlite"
          ? join(directory, `chaos-${id}.db`)
          : backend === "postgres"
            ? `chaos_${id}`
            : `chaos-${id}`,
      ...(backend === "postgres"
        ? { url: inject("pgUrl") }
        : backend === "redis"
          ? { url: inject("redisUrl") }
          : {}),
    };
    try {
      const report = await runChaos({ store, runs: 40, stepMs: 40, timeoutMs: 90_000 });
      console.log(describeReport(report));
      expect(report.succeeded).toBe(40);
      expect(report.effectErrors).toEqual([]);
      expect(report.forkedThreads).toEqual([]);
      expect(report.wrongStates).toEqual([]);
      expect(report.effectsApplied).toBe(400);
      expect(report.kills).toBeGreaterThan(0);
    } finally {
      await dropStore(store, openStore(store));
    }
  }, 120_000);
}
