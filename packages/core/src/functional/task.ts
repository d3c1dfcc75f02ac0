import { AsyncLocalStorage } from "node:async_hooks";
import type { RetryPolicy } from "../graph/graph-spec.js";
import { GraphInterrupt } from "../pregel/graph-interrupt.js";
import { currentTaskScope } from "../pregel/task-scope.js";
import { backoff, resolveRetryPolicy, shouldRetry } from "../pregel/retry-policy.js";
import { parseOptions } from "../internal/options.js";

/**
 * Options of `task()`: the name its calls are recorded under, and their retry policy.
 *
 * @experimental
 */
export interface TaskOptions {
  /** Recorded with each call's result: a resumed run must call the same names in the same order. */
  readonly name: string;
  /** Retries of a failed call, inside the call (the entrypoint does not start over). */
  readonly retry?: RetryPolicy;
}

/**
 * What an entrypoint's run tracks of its task calls: those still running, so
 * that the run waits for them before it ends (their results are recorded,
 * and all their interrupts are reported together).
 */
export interface FunctionalRun {
  readonly inflight: Set<Promise<unknown>>;
  /** The interrupts task calls raised, whether or not the function awaited them. */
  readonly interrupted: GraphInterrupt[];
  readonly previous: unknown;
}

const runs = new AsyncLocalStorage<FunctionalRun>();

export function runFunctional<T>(run: FunctionalRun, body: () => T): T {
  return runs.run(run, body);
}

export function currentFunctionalRun(): FunctionalRun | undefined {
  return runs.getStore();
}

/**
 * A durable step of the Functional API, LangGraph's `task`: call the returned
 * function inside an `entrypoint` (or any graph node). Each call's result is
 * recorded before the call returns, keyed by the call's order in the run; when
 * the run starts over (after a crash, an interrupt or a retry), recorded calls
 * return their results without running. Calls made in parallel are recorded
 * each on its own. Arguments and results must be serializable by the store.
 *
 * ```ts
 * const fetchPage = task("fetchPage", async (url: string) => (await fetch(url)).text());
 * ```
 *
 * @experimental
 */
export function task<Args extends unknown[], Result>(
  options: string | TaskOptions,
  fn: (...args: Args) => Result | Promise<Result>,
): (...args: Args) => Promise<Awaited<Result>> {
  const { name, retry } = parseOptions(
    "task",
    typeof options === "string" ? { name: options } : options,
  );
  const policy = retry === undefined ? undefined : resolveRetryPolicy(retry);
  return (...args: Args) => {
    const scope = currentTaskScope();
    if (scope?.call === undefined)
      throw new Error(
        `task "${name}" was called outside a running entrypoint or graph node; ` +
          "tasks are recorded in the run that calls them",
      );
    let ran = false;
    const call = scope.call(
      name,
      async ({ signal }) => {
        ran = true;
        return policy === undefined
          ? await fn(...args)
          : await withRetries(policy, signal, fn, args);
      },
      "task",
    ) as Promise<Awaited<Result>>;
    const result = call.then((value) => {
      // The step's updates: each task call that ran, as LangGraph streams it.
      const runtime = scope.runtime;
      if (ran && runtime.modes.has("updates"))
        runtime.emit({ mode: "updates", data: { [name]: value } });
      return value;
    });
    const run = currentFunctionalRun();
    if (run !== undefined) {
      run.inflight.add(result);
      result.then(
        () => run.inflight.delete(result),
        (reason: unknown) => {
          run.inflight.delete(result);
          if (reason instanceof GraphInterrupt) run.interrupted.push(reason);
        },
      );
    }
    return result;
  };
}

async function withRetries<Args extends unknown[], Result>(
  policy: ReturnType<typeof resolveRetryPolicy>,
  signal: AbortSignal,
  fn: (...args: Args) => Result | Promise<Result>,
  args: Args,
): Promise<Awaited<Result>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(...args);
    } catch (error) {
      if (
        error instanceof GraphInterrupt ||
        attempt >= policy.maxAttempts ||
        !shouldRetry(policy, error) ||
        signal.aborted
      )
        throw error;
      await new Promise((resolve) => setTimeout(resolve, backoff(policy, attempt)));
    }
  }
}
