import type { PlannedTask } from "@waypoint/checkpoint";
import { NodeTimeoutError, TerminalError } from "../errors.js";
import type { NodeContext, NodeSpec, RetryPolicy } from "../graph/graph-spec.js";
import {
  GraphInterrupt,
  interrupt,
  runInTaskScope,
  type Interrupt,
  type TaskRuntime,
} from "./interrupt.js";

export type TaskOutcome =
  | { readonly kind: "done"; readonly result: unknown }
  | { readonly kind: "interrupted"; readonly interrupts: readonly Interrupt[] }
  | { readonly kind: "failed"; readonly error: unknown };

export interface TaskRunOptions {
  readonly task: PlannedTask;
  readonly node: NodeSpec;
  readonly input: unknown;
  readonly threadId: string;
  readonly namespace: string;
  readonly step: number;
  readonly resumeValues: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
  readonly writer: (chunk: unknown) => void;
  readonly runtime: TaskRuntime;
}

/** Runs one task with its node's retry policy and timeout. Never throws. */
export async function runTask(options: TaskRunOptions): Promise<TaskOutcome> {
  const policy = options.node.retry ?? {};
  const maxAttempts = policy.maxAttempts ?? 1;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { kind: "done", result: await attemptOnce(options, attempt) };
    } catch (error) {
      if (error instanceof GraphInterrupt)
        return { kind: "interrupted", interrupts: error.interrupts };
      if (attempt >= maxAttempts || !shouldRetry(policy, error) || options.signal.aborted) {
        return { kind: "failed", error };
      }
      await sleep(backoff(policy, attempt), options.signal);
    }
  }
}

async function attemptOnce(options: TaskRunOptions, attempt: number): Promise<unknown> {
  const timeoutMs = options.node.timeoutMs;
  // A node without a timeout shares the run's signal; one with a timeout gets
  // its own, so that the timeout aborts only this task.
  const controller = timeoutMs === undefined ? undefined : new AbortController();
  const abort = () => controller?.abort(options.signal.reason);
  if (controller) options.signal.addEventListener("abort", abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const context: NodeContext = {
      threadId: options.threadId,
      namespace: options.namespace,
      step: options.step,
      taskId: options.task.id,
      node: options.node.name,
      attempt,
      signal: controller?.signal ?? options.signal,
      writer: options.writer,
      interrupt: (value) => interrupt(value),
    };
    const run = runInTaskScope(
      {
        taskId: options.task.id,
        node: options.node.name,
        namespace: options.namespace,
        resumeValues: options.resumeValues,
        runtime: options.runtime,
      },
      () => Promise.resolve().then(() => options.node.run(options.input as never, context)),
    );
    if (timeoutMs === undefined || controller === undefined) return await run;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new NodeTimeoutError(options.node.name, timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
    if (controller) options.signal.removeEventListener("abort", abort);
  }
}

function shouldRetry(policy: RetryPolicy, error: unknown): boolean {
  if (error instanceof TerminalError) return false;
  return policy.retryOn ? policy.retryOn(error) : true;
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const base = (policy.initialIntervalMs ?? 500) * (policy.backoffFactor ?? 2) ** (attempt - 1);
  const capped = Math.min(base, policy.maxIntervalMs ?? 30_000);
  return policy.jitter === false ? capped : capped * (0.5 + Math.random() / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
