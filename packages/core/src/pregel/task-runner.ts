import type { PlannedTask } from "@waypoint/checkpoint";
import { NodeTimeoutError } from "../errors.js";
import type { NodeContext, NodeSpec } from "../graph/graph-spec.js";
import { recordedCalls } from "./effects.js";
import { backoff, resolveRetryPolicy, shouldRetry } from "./retry-policy.js";
import { ParentCommand } from "./parent-command.js";
import type { TaskJournal } from "./task-journal.js";
import { callWrapped, taskWrappers } from "./task-wrappers.js";
import { messageMetadata } from "./message-metadata.js";
import { GraphInterrupt, type Interrupt } from "./graph-interrupt.js";
import { interrupt } from "./interrupt.js";
import { runInTaskScope, type CallFrame, type TaskRuntime, type TaskScope } from "./task-scope.js";

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
  readonly streamMessage: (chunk: unknown) => void;
  /** Whether the run streams "messages" (task wrappers are told). */
  readonly streamsMessages: boolean;
  readonly runtime: TaskRuntime;
  /** The checkpoint the task was planned in (part of its effects' keys). */
  readonly checkpointId: string;
  readonly journal: TaskJournal;
  /** Whether other tasks of the superstep run beside this one. */
  readonly concurrent: boolean;
}

/**
 * Runs one task with its node's retry policy and timeout. Never throws. A
 * node that returns a plain value on its first attempt (and saves no
 * partial) gets its outcome back as a plain value: no promise, no microtask
 * turn, which is every step of a chain of synchronous nodes.
 */
export function runTask(options: TaskRunOptions): TaskOutcome | Promise<TaskOutcome> {
  const partials = new PartialSaver(options.journal);
  let result: unknown;
  try {
    result = attemptOnce(options, 1, partials);
  } catch (error) {
    return attempts(options, partials, { error });
  }
  if (isPromiseLike(result)) return attempts(options, partials, { running: result });
  const outcome: TaskOutcome = { kind: "done", result };
  const saving = partials.stop();
  return saving === undefined ? outcome : saving.then(() => outcome);
}

/** How the first attempt went when it did not return a plain value. */
type FirstAttempt = { readonly running: PromiseLike<unknown> } | { readonly error: unknown };

/** The first attempt's promise or throw, then the retries its node's policy allows. */
async function attempts(
  options: TaskRunOptions,
  partials: PartialSaver,
  first: FirstAttempt,
): Promise<TaskOutcome> {
  const policy = resolveRetryPolicy(options.node.retry);
  const maxAttempts = policy.maxAttempts;
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (attempt === 1) {
          if ("error" in first) throw first.error;
          return { kind: "done", result: await first.running };
        }
        const result = attemptOnce(options, attempt, partials);
        // A node that returned a plain value costs no await (a promise and a microtask turn).
        return { kind: "done", result: isPromiseLike(result) ? await result : result };
      } catch (error) {
        if (error instanceof GraphInterrupt)
          return { kind: "interrupted", interrupts: error.interrupts };
        // A subgraph this node ran handed a Command to this graph: the node's result.
        if (error instanceof ParentCommand) return { kind: "done", result: error.command };
        if (attempt >= maxAttempts || !shouldRetry(policy, error) || options.signal.aborted) {
          return { kind: "failed", error };
        }
        await sleep(backoff(policy, attempt), options.signal);
      }
    }
  } finally {
    const saving = partials.stop();
    if (saving !== undefined) await saving;
  }
}

/**
 * One call of the node: what it returned (a value or a promise), or a throw.
 * Not an async function, so that a node without a timeout costs no promise
 * besides its own.
 */
function attemptOnce(options: TaskRunOptions, attempt: number, partials: PartialSaver): unknown {
  const timeoutMs = options.node.timeoutMs;
  if (timeoutMs === undefined)
    return callNode(options, attempt, options.signal, partials, options.concurrent);
  return attemptWithTimeout(options, attempt, partials, timeoutMs);
}

async function attemptWithTimeout(
  options: TaskRunOptions,
  attempt: number,
  partials: PartialSaver,
  timeoutMs: number,
): Promise<unknown> {
  // A node with a timeout gets its own signal, so that the timeout aborts only this task.
  const controller = new AbortController();
  const abort = () => controller.abort(options.signal.reason);
  options.signal.addEventListener("abort", abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = callNode(options, attempt, controller.signal, partials, true);
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
    options.signal.removeEventListener("abort", abort);
  }
}

/**
 * Calls the node in the task's scope (for `interrupt()`). `deferred` calls it
 * a microtask later: so that a timeout is armed before a node that blocks,
 * and all of a superstep's tasks have started before any node runs.
 */
function callNode(
  options: TaskRunOptions,
  attempt: number,
  signal: AbortSignal,
  partials: PartialSaver,
  deferred: boolean,
): unknown {
  // The node's own recorded calls number from 0 on every attempt.
  const frame: CallFrame = { path: undefined, calls: 0 };
  const call = recordedCalls(options, attempt, signal, frame);
  const context: NodeContext = {
    threadId: options.threadId,
    namespace: options.namespace,
    step: options.step,
    taskId: options.task.id,
    node: options.node.name,
    attempt,
    signal,
    writer: options.writer,
    streamMessage: options.streamMessage,
    interrupt,
    effect: call,
    partial: (value) => partials.push(value),
    salvage: options.journal.salvage,
  };
  const run = () => runNode(options, context);
  const scope: TaskScope = {
    threadId: options.threadId,
    taskId: options.task.id,
    node: options.node.name,
    namespace: options.namespace,
    resumeValues: options.resumeValues,
    runtime: options.runtime,
    signal,
    calls: 0,
    subgraphCalls: 0,
    frame,
    call,
  };
  const body = deferred ? () => Promise.resolve().then(run) : run;
  const telemetry = options.runtime.telemetry;
  if (telemetry !== undefined)
    return telemetry.attempt(options.task, options.namespace, attempt, () =>
      runInTaskScope(scope, body),
    );
  return runInTaskScope(scope, body);
}

/** The node's function, inside the registered task wrappers if any (none costs nothing). */
function runNode(options: TaskRunOptions, context: NodeContext): unknown {
  const wrappers = taskWrappers();
  if (wrappers.length === 0) return options.node.run(options.input as never, context);
  const task = {
    input: options.input,
    metadata: messageMetadata(options.task, options.step, options),
    streamsMessages: options.streamsMessages,
  };
  return callWrapped(wrappers, task, context, (current) =>
    options.node.run(options.input as never, current),
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    ((typeof value === "object" || typeof value === "function") &&
      value !== null &&
      typeof (value as { then?: unknown }).then === "function")
  );
}

/** Saves the latest partial output at most every THROTTLE_MS; what is unsaved when the task ends is dropped. */
const PARTIAL_THROTTLE_MS = 250;

class PartialSaver {
  private latest: { value: unknown } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSaved = 0;
  /** Saves in flight, chained; none until the node first reports a partial. */
  private saving: Promise<void> | undefined;

  constructor(private readonly journal: TaskJournal) {}

  push(value: unknown): void {
    this.latest = { value };
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastSaved + PARTIAL_THROTTLE_MS - Date.now());
    this.timer = setTimeout(() => this.drain(), wait);
  }

  private drain(): void {
    this.timer = undefined;
    const latest = this.latest;
    this.latest = undefined;
    if (latest === undefined) return;
    this.lastSaved = Date.now();
    // Best effort: a partial that fails to save must not fail the node.
    this.saving = (this.saving ?? Promise.resolve())
      .then(() => this.journal.savePartial(latest.value))
      .catch(() => undefined);
  }

  /** Drops what is unsaved; returns the saves still in flight, if any, to wait for. */
  stop(): Promise<void> | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = undefined;
    return this.saving;
  }
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
