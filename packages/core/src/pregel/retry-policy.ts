import { TerminalError } from "../errors.js";
import type { RetryPolicy } from "../graph/graph-spec.js";

/** A node's retry policy with every default filled in. */
export interface ResolvedRetryPolicy {
  readonly maxAttempts: number;
  readonly initialIntervalMs: number;
  readonly backoffFactor: number;
  readonly maxIntervalMs: number;
  readonly jitter: boolean;
  readonly retryOn: (error: unknown) => boolean;
}

const DEFAULTS: ResolvedRetryPolicy = {
  maxAttempts: 3,
  initialIntervalMs: 500,
  backoffFactor: 2,
  maxIntervalMs: 30_000,
  jitter: true,
  retryOn: defaultRetryOn,
};

const NO_RETRY: ResolvedRetryPolicy = { ...DEFAULTS, maxAttempts: 1 };

/**
 * No policy: one attempt. A policy: each field it leaves out takes its
 * default, so `retry: {}` means three attempts of the default policy.
 */
export function resolveRetryPolicy(policy: RetryPolicy | undefined): ResolvedRetryPolicy {
  if (policy === undefined) return NO_RETRY;
  return {
    maxAttempts: policy.maxAttempts ?? DEFAULTS.maxAttempts,
    initialIntervalMs: policy.initialIntervalMs ?? DEFAULTS.initialIntervalMs,
    backoffFactor: policy.backoffFactor ?? DEFAULTS.backoffFactor,
    maxIntervalMs: policy.maxIntervalMs ?? DEFAULTS.maxIntervalMs,
    jitter: policy.jitter ?? DEFAULTS.jitter,
    retryOn: policy.retryOn ?? DEFAULTS.retryOn,
  };
}

/** Whether a failed attempt is tried again (attempts left aside): never a TerminalError. */
export function shouldRetry(policy: ResolvedRetryPolicy, error: unknown): boolean {
  return !(error instanceof TerminalError) && policy.retryOn(error);
}

/** The wait before the attempt after `attempt`, in ms. */
export function backoff(policy: ResolvedRetryPolicy, attempt: number): number {
  const base = policy.initialIntervalMs * policy.backoffFactor ** (attempt - 1);
  const capped = Math.min(base, policy.maxIntervalMs);
  return policy.jitter ? capped * (0.5 + Math.random() / 2) : capped;
}

/**
 * Which errors a policy without `retryOn` retries: every error but those that
 * a second attempt would meet again. Not retried: a TerminalError; a
 * cancellation (an error named "AbortError"); a programming error (TypeError,
 * SyntaxError, RangeError, ReferenceError), except fetch's "fetch failed",
 * which is a network failure; an HTTP client error (`status` or
 * `response.status` in 400-499), except 408 (timeout) and 429 (rate limit).
 * Timeouts are retried: a NodeTimeoutError, and a request's TimeoutError.
 */
export function defaultRetryOn(error: unknown): boolean {
  if (error instanceof TerminalError) return false;
  if (nameOf(error) === "AbortError") return false;
  if (error instanceof TypeError && error.message === "fetch failed") return true;
  if (
    error instanceof TypeError ||
    error instanceof SyntaxError ||
    error instanceof RangeError ||
    error instanceof ReferenceError
  ) {
    return false;
  }
  const status = httpStatus(error);
  return status === undefined || status < 400 || status > 499 || status === 408 || status === 429;
}

function nameOf(error: unknown): unknown {
  return typeof error === "object" && error !== null
    ? (error as { name?: unknown }).name
    : undefined;
}

/** An HTTP client's status: `error.status` (fetch wrappers, SDKs) or `error.response.status` (axios). */
function httpStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { status, response } = error as { status?: unknown; response?: unknown };
  if (typeof status === "number") return status;
  if (typeof response === "object" && response !== null) {
    const nested = (response as { status?: unknown }).status;
    if (typeof nested === "number") return nested;
  }
  return undefined;
}
