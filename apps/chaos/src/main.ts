/**
 * `pnpm chaos [--backend sqlite|postgres|redis] [--runs N]`: the long chaos
 * run (200 runs, 4 workers, a SIGKILL every 0.5-2 s) on each backend, on
 * PostgreSQL and Redis servers it starts itself.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startPostgres, startRedis } from "@waypoint/test-services";
import { describeReport, runChaos, type ChaosReport } from "./chaos.js";
import {
  CHAOS_BACKENDS,
  dropStore,
  openStore,
  type ChaosBackend,
  type ChaosStore,
} from "./stores.js";

const { values } = parseArgs({
  options: {
    backend: { type: "string", multiple: true },
    runs: { type: "string", default: "200" },
  },
});
const backends = (values.backend ?? [...CHAOS_BACKENDS]) as ChaosBackend[];
for (const backend of backends) {
  if (!CHAOS_BACKENDS.includes(backend)) {
    console.error(`chaos: unknown backend ${backend} (one of ${CHAOS_BACKENDS.join(", ")})`);
    process.exit(2);
  }
}

const directory = mkdtempSync(join(tmpdir(), "waypoint-chaos-"));
const reports: ChaosReport[] = [];
try {
  for (const backend of backends) {
    const server =
      backend === "postgres"
        ? await startPostgres()
        : backend === "redis"
          ? await startRedis()
          : undefined;
    const store: ChaosStore = {
      backend,
      location:
        backend === "sqlite"
          ? join(directory, "chaos.db")
          : backend === "postgres"
            ? "chaos"
            : "chaos",
      ...(server ? { url: server.url } : {}),
    };
    try {
      const report = await runChaos({
        store,
        runs: Number(values.runs),
        log: (line) => console.log(line),
      });
      console.log(describeReport(report));
      reports.push(report);
    } finally {
      await dropStore(store, openStore(store)).catch(() => undefined);
      await server?.stop();
    }
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
const failed = reports.filter(
  (r) =>
    r.succeeded !== r.runs ||
    r.effectErrors.length + r.forkedThreads.length + r.wrongStates.length > 0,
);
for (const report of failed) {
  console.error(`chaos: ${report.backend} FAILED`, {
    effectErrors: report.effectErrors.slice(0, 10),
    forkedThreads: report.forkedThreads.slice(0, 10),
    wrongStates: report.wrongStates.slice(0, 10),
  });
}
process.exit(failed.length === 0 ? 0 : 1);
