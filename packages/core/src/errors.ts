import { WaypointError, type ErrorData } from "@waypoint/checkpoint";

/**
 * The `code` of each error class `@waypoint/core` defines. Each code has a page,
 * `docs/errors/<code>.md`, that says what went wrong and what to do.
 */
export type CoreErrorCode =
  | "INVALID_GRAPH"
  | "INVALID_UPDATE"
  | "INVALID_ROUTE"
  | "RECURSION_LIMIT"
  | "INVALID_RESUME"
  | "NODE_TIMEOUT"
  | "TERMINAL"
  | "NON_DETERMINISM"
  | "RUN_WAIT_TIMEOUT"
  | "CHECKPOINTER_REQUIRED"
  | "GRAPH_CHANGED"
  | "MIGRATION_FAILED";

/** Every CoreErrorCode, for tooling (the docs check walks this list). */
export const CORE_ERROR_CODES: readonly CoreErrorCode[] = [
  "INVALID_GRAPH",
  "INVALID_UPDATE",
  "INVALID_ROUTE",
  "RECURSION_LIMIT",
  "INVALID_RESUME",
  "NODE_TIMEOUT",
  "TERMINAL",
  "NON_DETERMINISM",
  "RUN_WAIT_TIMEOUT",
  "CHECKPOINTER_REQUIRED",
  "GRAPH_CHANGED",
  "MIGRATION_FAILED",
];

/** The base class of core's errors: a WaypointError with a CoreErrorCode. */
export class CoreError extends WaypointError<CoreErrorCode> {}

/** `compile()` found a problem in the graph's shape. */
export class GraphValidationError extends CoreError {
  constructor(problem: string, data: ErrorData = {}) {
    super("INVALID_GRAPH", `Invalid graph: ${problem}`, { data });
  }
}

/** A node's update cannot be applied: unknown key, rejected value, or parallel writes to a last-value channel. */
export class InvalidUpdateError extends CoreError {
  constructor(channel: string, nodes: readonly string[], problem: string) {
    super(
      "INVALID_UPDATE",
      `Invalid update to "${channel}" from ${nodes.map((n) => `"${n}"`).join(", ")}: ${problem}`,
      {
        data: { channel, nodes },
      },
    );
  }
}

/** A router or a Command named a node that does not exist. */
export class InvalidRouteError extends CoreError {
  constructor(from: string, target: string, known: readonly string[]) {
    super(
      "INVALID_ROUTE",
      `"${from}" routed to "${target}", which is not a node of this graph. Known: ${known.join(", ")}, __end__.`,
      { data: { from, target, known } },
    );
  }
}

/**
 * A run took `recursionLimit` supersteps after its input and still had work
 * planned. The thread keeps its last checkpoint: raise the limit and
 * `invoke(null)` to continue.
 */
export class RecursionLimitError extends CoreError {
  constructor(limit: number, threadId: string) {
    super(
      "RECURSION_LIMIT",
      `Thread "${threadId}" reached the recursion limit of ${limit} supersteps without finishing. ` +
        `Raise recursionLimit if the graph needs more, or check for a loop that never ends.`,
      { data: { limit, threadId } },
    );
  }
}

/** A resume that does not match the pending interrupts. */
export class InvalidResumeError extends CoreError {
  constructor(problem: string, pending: readonly string[]) {
    super(
      "INVALID_RESUME",
      `${problem} Pending interrupts: ${pending.length ? pending.join(", ") : "(none)"}.`,
      {
        data: { pending },
      },
    );
  }
}

/**
 * A node attempt ran longer than its `timeoutMs`; the node's `ctx.signal` is
 * aborted with this error. Retried by the node's retry policy.
 */
export class NodeTimeoutError extends CoreError {
  constructor(node: string, timeoutMs: number) {
    super("NODE_TIMEOUT", `Node "${node}" did not finish within ${timeoutMs} ms.`, {
      data: { node, timeoutMs },
    });
  }
}

/** Thrown by a node to fail at once: the retry policy never retries it. */
export class TerminalError extends CoreError {
  constructor(
    message: string,
    options: { cause?: unknown; data?: ErrorData } = {},
    code: CoreErrorCode = "TERMINAL",
  ) {
    super(code, message, options);
  }
}

/**
 * A node replayed after a crash, an interrupt or a retry called its effects
 * in another order than it did the first time (its code or its inputs
 * changed). Returning the recorded results would give wrong answers, so the
 * task fails instead. Never retried.
 */
export class NonDeterminismError extends TerminalError {
  /**
   * `index` is the call's 0-based position in its frame; `scope` names the
   * recorded call it was made inside ("2.0", 0-based positions), absent for
   * the node's own calls. `kind` is what was called, `recordedKind` what the
   * log holds at that place.
   */
  constructor(
    node: string,
    at: { readonly index: number; readonly scope?: string },
    recorded: string,
    called: string,
    kind: "effect" | "task" = "effect",
    recordedKind: "effect" | "task" = kind,
  ) {
    // For people, positions count from 1: scope "2.0" is the first call inside the node's third.
    const where =
      at.scope === undefined
        ? ""
        : ` inside call ${at.scope
            .split(".")
            .map((position) => `#${Number(position) + 1}`)
            .join(" > ")}`;
    super(
      `Node "${node}" called ${kind} #${at.index + 1}${where} "${called}", but its recorded ${recordedKind} #${at.index + 1}${where} is "${recorded}". ` +
        `The code must make its recorded calls (effects and tasks) in the same order on every run; see docs/side-effects.md.`,
      {
        data: {
          node,
          index: at.index,
          ...(at.scope !== undefined ? { scope: at.scope } : {}),
          kind,
          recordedKind,
          recorded,
          called,
        },
      },
      "NON_DETERMINISM",
    );
  }
}

/** `runs.wait` gave up: the run had not ended or paused within `timeoutMs`. It goes on. */
export class RunWaitTimeoutError extends CoreError {
  constructor(runId: string, status: string, timeoutMs: number) {
    super("RUN_WAIT_TIMEOUT", `Run ${runId} was still ${status} after ${timeoutMs} ms.`, {
      data: { runId, status, timeoutMs },
    });
  }
}

/**
 * Something that only a saved thread can do was asked of a graph compiled
 * without a checkpointer: pausing (`interrupt()`, `interruptBefore`,
 * `interruptAfter`), resuming, or editing state. Nothing could ever resume
 * such a thread, so the run fails at once instead of returning a pause.
 */
export class CheckpointerRequiredError extends TerminalError {
  constructor(what: string) {
    super(
      `${what} needs a checkpointer: compile the graph with { checkpointer } (a MemoryCheckpointer will do in tests), ` +
        `so that the thread is saved and can be resumed.`,
      { data: { what } },
      "CHECKPOINTER_REQUIRED",
    );
  }
}

/**
 * The thread was written by another shape of the graph, and this one cannot
 * go on from it: a planned node is gone, a channel that holds a value is
 * gone or changed its kind. `data.problems` lists each in the graph's own
 * names. Nothing was written; declare a rename or a migration (see
 * docs/deploying-changes.md), or run the thread on the version that wrote it.
 */
export class GraphChangedError extends TerminalError {
  constructor(
    threadId: string,
    readonly problems: readonly string[],
    data: ErrorData = {},
  ) {
    super(
      `Thread "${threadId}" cannot continue on this graph: ${problems.join("; ")}. Nothing was written; ` +
        `declare renamedNodes or a migration in compile() (docs/deploying-changes.md).`,
      { data: { threadId, problems, ...data } },
      "GRAPH_CHANGED",
    );
  }
}

/** A migration given to compile() threw or returned what the graph cannot hold. Nothing was written. */
export class MigrationFailedError extends TerminalError {
  constructor(
    threadId: string,
    from: string | number,
    to: string | number,
    problem: string,
    cause?: unknown,
  ) {
    super(
      `Migrating thread "${threadId}" from version ${JSON.stringify(from)} to ${JSON.stringify(to)} failed: ${problem}. ` +
        `The thread is as it was.`,
      { data: { threadId, from, to }, ...(cause === undefined ? {} : { cause }) },
      "MIGRATION_FAILED",
    );
  }
}
