import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startPostgres, startRedis } from "@waypoint/test-services";
import { describeSoak, runSoak } from "../src/soak.js";
import { CHAOS_BACKENDS, dropStore, openStore, type ChaosStore } from "../src/stores.js";

const directory = mkdtempSync(join(tmpdir(), "waypoint-soak-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// The short version of `pnpm chaos --soak`: 12 workers killed with SIGKILL per
// backend while runs keep coming, and the PostgreSQL or Redis server (a private
// one: the others' tests share the global servers) restarted every 3-5 s.
for (const backend of CHAOS_BACKENDS) {
  it(`${backend}: no run lost, no effect applied twice, one head per thread, right final states`, async () => {
    const server =
      backend === "postgres"
        ? await startPostgres()
        : backend === "redis"
          ? await startRedis({ appendOnly: true })
          : undefined;
    const store: ChaosStore = {
      backend,
      location: backend === "sqlite" ? join(directory, "soak.db") : "soak",
      ...(server ? { url: server.url } : {}),
    };
    try {
      const report = await runSoak({
        store,
        kills: 12,
        ...(server ? { restart: () => server.restart(), restartEveryMs: [3_000, 5_000] } : {}),
        timeoutMs: 150_000,
      });
      console.log(describeSoak(report));
      expect(report.kills).toBe(12);
      if (server) expect(report.restarts).toBeGreaterThan(0);
      expect(report.lostRuns).toEqual([]);
      expect(report.effectErrors).toEqual([]);
      expect(report.forkedThreads).toEqual([]);
      expect(report.wrongStates).toEqual([]);
      expect(report.succeeded).toBeGreaterThan(0);
    } finally {
      await dropStore(store, openStore(store)).catch(() => undefined);
      await server?.stop();
    }
  }, 180_000);
}
