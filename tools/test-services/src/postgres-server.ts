import { rmSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupOnExit } from "./internal/exit-cleanup.js";
import {
  postgresBinary,
  runAsServerUser,
  runAsServerUserSync,
  runsAsRoot,
  shellQuote,
} from "./internal/pg-binaries.js";
import { PortInUseError, startOnFreePort } from "./internal/port-collision.js";
import { run } from "./run.js";

export interface StartPostgresOptions {
  /** Keep fsync and full_page_writes on (their defaults), for benchmarks. */
  durable?: boolean;
}

/** A throwaway PostgreSQL cluster on 127.0.0.1, with trust auth for the `postgres` user. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  /** The cluster's data directory, inside a temp dir that stop() removes. */
  readonly dataDir: string;
  /** Fast shutdown, then removes all files. Safe to call twice. */
  stop(): Promise<void>;
  /** Fast shutdown (if running), then starts again on the same port and data. */
  restart(): Promise<void>;
  /** Immediate shutdown, as in a crash; the data stays for restart(). */
  kill(): Promise<void>;
}

// Tests need no protection from OS crashes, only from process crashes (kill()).
// fsync=off makes commits ~2x faster and still survives kill(). Not
// synchronous_commit=off: with fsync off it gains nothing, and kill() would
// lose commits that were already acknowledged.
const fastSettings = " -c fsync=off -c full_page_writes=off";
const initdbArgs = ["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"];

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const [initdb, pgCtl] = await Promise.all([postgresBinary("initdb"), postgresBinary("pg_ctl")]);
  const dir = await mkdtemp(join(tmpdir(), "waypoint-pg-"));
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  const pgCtlStop = (mode: "fast" | "immediate") => ["-D", dataDir, "-m", mode, "-w", "-s", "stop"];
  let running = false;

  const unregister = cleanupOnExit(() => {
    if (running) runAsServerUserSync(pgCtl, pgCtlStop("immediate"), dir);
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(port: number): Promise<void> {
    let settings = `-p ${port} -k ${shellQuote(dir)} -c listen_addresses=127.0.0.1`;
    if (options.durable !== true) settings += fastSettings;
    const logStart = await fileSize(logFile);
    try {
      await runAsServerUser(
        pgCtl,
        ["-D", dataDir, "-l", logFile, "-w", "-s", "-o", settings, "start"],
        dir,
      );
    } catch (error) {
      const log = await readFrom(logFile, logStart);
      if (log.includes("Address already in use")) throw new PortInUseError(port, log);
      throw new Error(`PostgreSQL did not start:\n${log}`, { cause: error });
    }
    running = true;
  }

  async function shutDown(mode: "fast" | "immediate"): Promise<void> {
    if (!running) return;
    await runAsServerUser(pgCtl, pgCtlStop(mode), dir);
    running = false;
  }

  let port: number;
  try {
    if (runsAsRoot) await run("chown", ["postgres:postgres", dir]);
    await runAsServerUser(initdb, ["-D", dataDir, ...initdbArgs], dir);
    port = await startOnFreePort(async (candidate) => {
      await start(candidate);
      return candidate;
    });
  } catch (error) {
    unregister();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      await shutDown("fast");
      unregister();
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await shutDown("fast");
      await start(port);
    },
    async kill() {
      await shutDown("immediate");
    },
  };
}

async function fileSize(path: string): Promise<number> {
  return stat(path).then(
    (stats) => stats.size,
    () => 0,
  );
}

/** The part of a log written since byte `offset`, so earlier attempts don't confuse the diagnosis. */
async function readFrom(path: string, offset: number): Promise<string> {
  return readFile(path).then(
    (log) => log.subarray(offset).toString("utf8"),
    () => "(no log written)",
  );
}
