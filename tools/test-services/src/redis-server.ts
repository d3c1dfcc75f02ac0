import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanupOnExit } from "./internal/exit-cleanup.js";
import { startOnFreePort } from "./internal/port-collision.js";
import { spawnRedis, stopProcess } from "./internal/redis-process.js";

export interface StartRedisOptions {
  /** Log each write to an append-only file, fsynced before the reply, so data survives kill(). */
  appendOnly?: boolean;
}

/** A throwaway `redis-server` on 127.0.0.1, run as a child process. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Its working directory (the append-only file lives here); stop() removes it. */
  readonly dir: string;
  /** SIGTERM, then removes the directory. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGTERM (if running), then starts again on the same port and directory. */
  restart(): Promise<void>;
  /** SIGKILL, as in a crash; the directory stays for restart(). */
  kill(): Promise<void>;
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "waypoint-redis-"));
  const persistence =
    options.appendOnly === true
      ? ["--appendonly", "yes", "--appendfsync", "always"]
      : ["--appendonly", "no"];
  const args = ["--bind", "127.0.0.1", "--dir", dir, "--save", "", ...persistence];
  let child: ChildProcess | undefined;

  const unregister = cleanupOnExit(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  let port: number;
  try {
    port = await startOnFreePort(async (candidate) => {
      child = await spawnRedis(candidate, args);
      return candidate;
    });
  } catch (error) {
    unregister();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      if (child !== undefined) await stopProcess(child, "SIGTERM");
      unregister();
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      if (child !== undefined) await stopProcess(child, "SIGTERM");
      child = await spawnRedis(port, args);
    },
    async kill() {
      if (child !== undefined) await stopProcess(child, "SIGKILL");
    },
  };
}
