/**
 * Which PostgreSQL failures are worth retrying: the server went away or
 * restarted, or a transaction lost a race it can simply run again.
 */
const RETRYABLE_SQLSTATES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08004",
  "08006", // connection exceptions
  "53300", // too_many_connections
  "57014", // query_canceled: statement_timeout (the statement did not commit)
]);
const RETRYABLE_NODE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
]);

export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (RETRYABLE_SQLSTATES.has(code) || RETRYABLE_NODE_CODES.has(code)))
    return true;
  const message = error instanceof Error ? error.message : "";
  // The last two are pg's client-side timeouts: query_timeout, and a pool
  // that found no connection within connectionTimeoutMillis.
  return /Connection terminated|connection timeout|Client has encountered a connection error|Query read timeout|timeout exceeded when trying to connect/i.test(
    message,
  );
}

/** pg's client-side timeouts: the server said nothing for query_timeout or connectionTimeoutMillis. */
export function isTimeout(error: unknown): boolean {
  const message = error instanceof Error ? error.message : "";
  return /Query read timeout|connection timeout|timeout exceeded when trying to connect/i.test(
    message,
  );
}

/**
 * A connection that failed mid-statement leaves the outcome unknown: the
 * statement may have committed. Such errors need a check before a retry.
 */
export function isAmbiguous(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    !(typeof code === "string" && /^(40001|40P01|57P03|57014|53300|08001|08004)$/.test(code)) &&
    isRetryable(error)
  );
}

/** How retryable errors are retried: attempts in all, the delay doubling from initialDelayMs up to maxDelayMs (with jitter). Defaults: 8, 50, 2000. */
export interface RetryOptions {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 8, initialDelayMs: 50, maxDelayMs: 2_000 };

export function delayFor(options: RetryOptions, attempt: number): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  return base / 2 + (Math.random() * base) / 2;
}
