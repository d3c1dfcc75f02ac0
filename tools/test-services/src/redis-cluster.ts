import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.js";
import { cleanupOnExit } from "./internal/exit-cleanup.js";
import { startOnFreePort } from "./internal/port-collision.js";
import { spawnRedis, stopProcess } from "./internal/redis-process.js";
import { run } from "./run.js";

export interface StartRedisClusterOptions {
  /** Primaries, each serving an equal share of the 16,384 slots (default 3, the least Redis allows). */
  masters?: number;
}

/** A throwaway Redis Cluster on 127.0.0.1: primaries only, no persistence. */
export interface RedisCluster {
  /** Every node, for `new Cluster(nodes)`. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** SIGTERM to every node, then removes their directories. Safe to call twice. */
  stop(): Promise<void>;
}

const joinTimeoutMs = 30_000;

/**
 * Starts `masters` redis-server processes in cluster mode and joins them with
 * `redis-cli --cluster create`; resolves once every node reports the cluster
 * ok. The cluster bus port of each node is a free port of its own
 * (`--cluster-port`), not the default port + 10000, which may not exist.
 */
export async function startRedisCluster(
  options: StartRedisClusterOptions = {},
): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const dir = await mkdtemp(join(tmpdir(), "waypoint-redis-cluster-"));
  const children: ChildProcess[] = [];
  const unregister = cleanupOnExit(() => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async () => {
    await Promise.all(children.map((child) => stopProcess(child, "SIGTERM")));
    unregister();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i += 1) {
      const port = await startOnFreePort(async (candidate) => {
        const nodeDir = join(dir, String(candidate));
        await mkdir(nodeDir, { recursive: true });
        const args = [
          ...["--bind", "127.0.0.1", "--dir", nodeDir, "--save", "", "--appendonly", "no"],
          ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
          ...["--cluster-port", String(await freePort())],
        ];
        children.push(await spawnRedis(candidate, args));
        return candidate;
      });
      ports.push(port);
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await Promise.all(ports.map((port) => waitForClusterOk(port)));
    return { nodes: ports.map((port) => ({ host: "127.0.0.1", port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `redis-cli --cluster create` returns once the nodes agree on the slots; each must also say ok. */
async function waitForClusterOk(port: number): Promise<void> {
  const deadline = Date.now() + joinTimeoutMs;
  for (;;) {
    const info = await run("redis-cli", ["-p", String(port), "cluster", "info"]);
    if (/^cluster_state:ok\r?$/m.test(info)) return;
    if (Date.now() > deadline) {
      throw new Error(`the Redis Cluster node on port ${port} did not report ok:\n${info}`);
    }
    await sleep(50);
  }
}
