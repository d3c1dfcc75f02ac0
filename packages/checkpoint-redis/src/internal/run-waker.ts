import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import type { WakeSource } from "@waypoint/checkpoint/backend";

/** How long one blocking read waits before it is sent again. */
const BLOCK_MS = 5_000;
/** Retry delays after a failed read: doubled from the first to the last, then kept. */
const FIRST_RETRY_MS = 50;
const LAST_RETRY_MS = 2_000;
/** What the wake-up connection calls itself in CLIENT LIST (no spaces: CLIENT SETNAME refuses them). */
export function wakeConnectionName(queueKey: string): string {
  return `waypoint-run-wake:${queueKey}`.replace(/[^!-~]/g, "_");
}

/**
 * Reads the run queue's stream with XREAD BLOCK, without a consumer group
 * (so it takes nothing from the workers' group), on a connection of its own
 * duplicated from the store's: a blocking command would hold up every other
 * command on a shared one. Every entry added (a run created, released, or
 * freed by the end of the run before it) wakes the watches. It reads on from
 * the last entry it saw, so the entries added while its connection was down
 * wake the watches once it is back; meanwhile the workers poll.
 */
export function readRunQueue(redis: Redis | Cluster, queueKey: string): WakeSource {
  return (wake) => {
    const stopping = new AbortController();
    const reader = duplicate(redis, wakeConnectionName(queueKey));
    // Failures reach the read, which retries; unhandled, an "error" would crash the process.
    reader.on("error", () => undefined);
    // Stopping ends the loop at once, whatever its read is waiting for.
    const stopped = new Promise<undefined>((resolve) =>
      stopping.signal.addEventListener("abort", () => resolve(undefined), { once: true }),
    );
    const read = async () => {
      let last: string | undefined;
      for (let retry = FIRST_RETRY_MS; !stopping.signal.aborted;) {
        try {
          if (last === undefined) {
            const newest = await Promise.race([
              reader.xrevrange(queueKey, "+", "-", "COUNT", 1),
              stopped,
            ]);
            if (newest === undefined) return;
            last = newest[0]?.[0] ?? "0-0";
            // Entries added before this point went unseen: look once.
            wake();
          }
          const reply = await Promise.race([
            reader.xread("COUNT", 100, "BLOCK", BLOCK_MS, "STREAMS", queueKey, last),
            stopped,
          ]);
          if (stopping.signal.aborted) return;
          retry = FIRST_RETRY_MS;
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) continue;
          last = entries[entries.length - 1]![0];
          wake();
        } catch {
          await sleep(retry, undefined, { signal: stopping.signal }).catch(() => undefined);
          retry = Math.min(retry * 2, LAST_RETRY_MS);
        }
      }
    };
    const reading = read();
    return async () => {
      stopping.abort();
      reader.disconnect();
      await reading;
    };
  };
}

/**
 * The store's connection, duplicated for one blocking read at a time: no
 * command timeout (it would cut every read short), but a read with no
 * answer a while after its BLOCK time is given up, and a socket silent that
 * long is dead and reconnects. A read cut by a dropped connection is sent
 * again once reconnected (ioredis 6.0.0 leaves one it does not resend
 * unsettled: redis/ioredis#2193).
 */
function duplicate(redis: Redis | Cluster, name: string): Redis | Cluster {
  const options: Partial<RedisOptions> = {
    connectionName: name,
    commandTimeout: undefined,
    blockingTimeout: BLOCK_MS,
    blockingTimeoutGrace: 2_000,
    socketTimeout: BLOCK_MS + 3_000,
    autoResendUnfulfilledCommands: true,
    maxRetriesPerRequest: 2,
  };
  if (!redis.isCluster) return (redis as Redis).duplicate(options);
  const cluster = redis as Cluster;
  return cluster.duplicate([], {
    ...cluster.options,
    redisOptions: { ...cluster.options.redisOptions, ...options },
  });
}
