import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { WakeSource } from "@waypoint/checkpoint/backend";
import { quoteIdentifier } from "./schema.js";

/** Reconnect delays: doubled from the first to the last, then kept. */
const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5_000;
/** How often the listening connection is asked a question, to find one that died without a word. */
const PING_MS = 30_000;

/** NOTIFY's channel for a schema's run queue (at most 63 bytes, as PostgreSQL's identifiers). */
export function runChannel(schema: string): string {
  const channel = `waypoint_runs:${schema}`;
  if (Buffer.byteLength(channel) <= 63) return channel;
  return `waypoint_runs:${createHash("sha256").update(schema).digest("hex").slice(0, 40)}`;
}

/**
 * LISTENs on `channel` on a connection of its own (not one of the pool's:
 * it would be held for as long as a worker runs). When that connection
 * drops, the workers poll as before while it reconnects, with backoff, and
 * wake once it listens again, for the runs created in between. A ping finds
 * a connection that died silently (a network partition).
 */
export function listenForRuns(config: pg.ClientConfig, channel: string): WakeSource {
  return (wake) => {
    const stopping = new AbortController();
    /** The connection listening, or being opened. */
    let client: pg.Client | undefined;
    let ping: NodeJS.Timeout | undefined;

    const connect = async () => {
      for (let retry = FIRST_RETRY_MS; !stopping.signal.aborted;) {
        const next = new pg.Client(config);
        client = next;
        // Reported by "end", which reconnects; unhandled, an "error" would crash the process.
        next.on("error", () => undefined);
        try {
          await next.connect();
          await next.query(`LISTEN ${quoteIdentifier(channel)}`);
        } catch {
          client = undefined;
          await next.end().catch(() => undefined);
          await sleep(retry, undefined, { signal: stopping.signal }).catch(() => undefined);
          retry = Math.min(retry * 2, LAST_RETRY_MS);
          continue;
        }
        if (stopping.signal.aborted) {
          await next.end().catch(() => undefined);
          return;
        }
        next.on("notification", wake);
        next.once("end", () => {
          clearInterval(ping);
          client = undefined;
          if (!stopping.signal.aborted) void connect();
        });
        ping = setInterval(() => {
          // A ping with no answer: end the connection, which reconnects.
          next.query({ text: "SELECT 1", query_timeout: 5_000 } as pg.QueryConfig).catch(() => {
            void next.end().catch(() => undefined);
          });
        }, PING_MS);
        ping.unref();
        wake();
        return;
      }
    };
    void connect();

    return async () => {
      stopping.abort();
      clearInterval(ping);
      // Also a connection still being opened: its connect fails, and the loop stops.
      await client?.end().catch(() => undefined);
    };
  };
}
