import type { Cluster, Redis } from "ioredis";
import {
  CheckpointerClosedError,
  CorruptRecordError,
  StorageUnavailableError,
} from "@waypoint/checkpoint";
import { RUN_SCRIPTS } from "./run-scripts.js";
import { SCRIPTS, type ScriptName } from "./scripts.js";

type ScriptClient = Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;
type Scripts = Record<ScriptName, { readonly lua: string; readonly numberOfKeys?: number }>;
const ALL_SCRIPTS: Scripts = { ...SCRIPTS, ...RUN_SCRIPTS };

/** How often the watchdog looks at waiting replies: the precision of `timeoutMs`. */
const WATCHDOG_MS = 100;

/** A reply waited for, and how to fail it at its deadline. */
interface Waiting {
  readonly deadline: number;
  readonly reject: (error: Error) => void;
}

export interface CommandRunnerOptions {
  readonly attempts: number;
  readonly timeoutMs: number;
  /** Whether an attempt's own command timeout ends it before `timeoutMs` (no timer of ours). */
  readonly firstAttemptBounded: boolean;
}

/**
 * How RedisCheckpointer and its run store send commands: the Lua scripts
 * (defined on the connection once), and every command with bounded retries.
 */
export class CommandRunner {
  private closed = false;
  /** Replies waited for with a deadline, and the timer that fails them (see bounded()). */
  private readonly waiting = new Set<Waiting>();
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    readonly redis: Redis | Cluster,
    private readonly options: CommandRunnerOptions,
  ) {
    for (const [name, script] of Object.entries(ALL_SCRIPTS)) redis.defineCommand(name, script);
  }

  /** Later commands fail with CHECKPOINTER_CLOSED. */
  close(): void {
    this.closed = true;
  }

  script(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const client = this.redis as unknown as ScriptClient;
    // A script defined without numberOfKeys takes its key count first.
    if (ALL_SCRIPTS[name].numberOfKeys === undefined)
      return client[name](keys.length, ...keys, ...args);
    return client[name](...keys, ...args);
  }

  /**
   * Runs a command, retrying a dropped connection, LOADING or READONLY, for at
   * most `timeoutMs` in all (then STORAGE_UNAVAILABLE). When a write may
   * already have run (the connection dropped after it was sent), `committed`
   * is asked first, so the write is never applied twice. Redis's out of memory
   * is STORAGE_UNAVAILABLE at once (nothing was written); a key of the wrong
   * type, CORRUPT_RECORD of what `where` names.
   */
  async run<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
    where?: () => string,
  ): Promise<T> {
    if (this.closed) throw new CheckpointerClosedError("RedisCheckpointer");
    const deadline = Date.now() + this.options.timeoutMs;
    let unsure = false;
    for (let tries = 1; ; tries += 1) {
      try {
        if (unsure && committed !== undefined) {
          const done = await this.bounded(committed(), deadline);
          if (done !== undefined) return done;
        }
        // A first attempt on a connection with its own command timeout is bounded by it: no watchdog.
        return await (tries === 1 && this.options.firstAttemptBounded
          ? attempt()
          : this.bounded(attempt(), deadline));
      } catch (error) {
        if (!isRetryable(error)) throw typed(error, operation, where);
        const remaining = deadline - Date.now();
        if (tries >= this.options.attempts || remaining <= 0)
          throw new StorageUnavailableError("Redis", operation, tries, error);
        unsure = true;
        // The last try comes at the deadline, if the backoff would pass it.
        const delay = Math.min(2000, 50 * 2 ** (tries - 1), remaining);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * `reply`, or a retryable timeout error once `deadline` has passed (a reply
   * after that is dropped). One watchdog timer looks at every waiting reply
   * each WATCHDOG_MS, rather than a timer per command on the put path.
   */
  private bounded<T>(reply: Promise<T>, deadline: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { deadline, reject };
      this.waiting.add(waiting);
      this.watchdog ??= setInterval(() => this.expire(), WATCHDOG_MS).unref();
      reply.then(
        (value) => {
          this.waiting.delete(waiting);
          resolve(value);
        },
        (error: Error) => {
          this.waiting.delete(waiting);
          reject(error);
        },
      );
    });
  }

  /** Fails the replies waited for past their deadline; stops the watchdog when none is left. */
  private expire(): void {
    const now = Date.now();
    for (const waiting of this.waiting) {
      if (waiting.deadline > now) continue;
      this.waiting.delete(waiting);
      waiting.reject(
        new Error(`Command timed out: no reply within timeoutMs (${this.options.timeoutMs})`),
      );
    }
    if (this.waiting.size === 0) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }
}

/** The command timeout a connection or cluster was made with, if any. */
export function connectionCommandTimeout(redis: Redis | Cluster): number | undefined {
  const options = redis.isCluster
    ? (redis as Cluster).options.redisOptions
    : (redis as Redis).options;
  const timeout = options?.commandTimeout;
  return typeof timeout === "number" && timeout > 0 ? timeout : undefined;
}

/** A Redis error that is not retried, as a Waypoint error where one fits. */
function typed(error: unknown, operation: string, where: (() => string) | undefined): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (/^OOM\b/.test(message) || message.includes("command not allowed when used memory")) {
    const cause = new Error(
      `Redis is out of memory (maxmemory reached, policy noeviction): nothing was written. ${message}`,
      { cause: error },
    );
    return new StorageUnavailableError("Redis", operation, 1, cause);
  }
  if (where !== undefined && /^WRONGTYPE\b/.test(message))
    return new CorruptRecordError(where(), "a key holds the wrong type of value", error);
  return error;
}

function isRetryable(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  return (
    /^(LOADING|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b/.test(message) ||
    /Connection is closed|Reached the max retries per request|Stream isn't writeable|connect ECONNREFUSED|Command timed out/i.test(
      message,
    ) ||
    (typeof code === "string" &&
      ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"].includes(code))
  );
}
