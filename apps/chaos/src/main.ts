/**
 * `pnpm chaos [--backend sqlite|postgres|redis] [--runs N]`: the long chaos
 * run (200 runs, 4 workers, a SIGKILL every 0.5-2 s) on each backend, on
 * PostgreSQL and Redis servers it starts itself.
 *
 * `pnpm chaos --soak [--kills N]`: the soak (soak.ts): workers kept busy
 * until N (default 1,000) were killed per backend, the PostgreSQL and Redis
 * servers restarted every 5-10 s; reports lost runs, effects applied twice,
 * threads with two heads and wrong final states, which must all be 0.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startPostgres, startRedis } from "@waypoint/test-services";
import { describeReport, runChaos, type ChaosReport } from "./chaos.js";
import { describeSoak, runSoak, soakFailures } from "./soak.js";
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
    soak: { type: "boolean", default: false },
    kills: { type: "string", default: "1000" },
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
if (values.soak) process.exit(await soak());
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

/** `--soak`: returns the exit code (1 when anything that must be 0 is not). */
async function soak(): Promise<number> {
  let failures = 0;
  try {
    for (const backend of backends) {
      // Redis logs every write before it answers, so a restart loses nothing acknowledged.
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
          kills: Number(values.kills),
          ...(server ? { restart: () => server.restart() } : {}),
          log: (line) => console.log(line),
        });
        console.log(describeSoak(report));
        if (soakFailures(report) > 0) {
          failures += 1;
          console.error(`chaos --soak: ${backend} FAILED`, {
            lostRuns: report.lostRuns.slice(0, 10),
            effectErrors: report.effectErrors.slice(0, 10),
            forkedThreads: report.forkedThreads.slice(0, 10),
            wrongStates: report.wrongStates.slice(0, 10),
          });
        }
      } finally {
        await dropStore(store, openStore(store)).catch(() => undefined);
        await server?.stop();
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return failures > 0 ? 1 : 0;
}
