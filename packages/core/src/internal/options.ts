/**
 * One zod schema per options object of the public API, built once at load
 * (a call only parses). `parseOptions` turns the first problem into an
 * InvalidArgumentError naming the method and the option, before the method
 * reads or writes anything.
 */
import { z } from "zod";
import { InvalidArgumentError, MULTITASK_STRATEGIES, RUN_STATUSES } from "@waypoint/checkpoint";
import { assertId } from "@waypoint/checkpoint/backend";
import { Command } from "../constants.js";

const DURABILITIES = ["sync", "async", "exit"] as const;
const STREAM_MODES = [
  "values",
  "updates",
  "tasks",
  "checkpoints",
  "custom",
  "messages",
  "debug",
] as const;
const RUN_STREAM_MODES = ["values", "checkpoints", "run"] as const;

/** LangGraph's way of naming a thread, met when migrating. */
const LANGGRAPH_KEYS: Readonly<Record<string, string>> = {
  configurable: "pass { threadId } at the top level instead of configurable.thread_id",
  thread_id: "use threadId",
  checkpoint_id: "use checkpointId",
  recursion_limit: "use recursionLimit",
  stream_mode: "use streamMode",
};

/** The checkpoint package's one id rule (non-empty, bounded, no NUL, well-formed), so core and every backend agree. */
const id = z.string({ error: "expected a non-empty string" }).superRefine((value, ctx) => {
  try {
    assertId(value, "id");
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message.replace(/^Invalid id: /, "") });
  }
});

const name = z.string({ error: "expected a non-empty string" }).min(1, {
  error: "expected a non-empty string",
});
const positiveInteger = z
  .int({ error: "expected an integer >= 1" })
  .min(1, { error: "expected an integer >= 1" });
const positiveMs = z
  .number({ error: "expected a finite number > 0" })
  .positive({ error: "expected a finite number > 0" });
const flag = z.boolean({ error: "expected true or false" });
const signal = z.instanceof(AbortSignal, { error: "expected an AbortSignal" });
const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === "function", {
  error: "expected a function",
});
const date = z
  .date({ error: "expected a valid Date" })
  .refine((value) => !Number.isNaN(value.getTime()), { error: "expected a valid Date" });

/** Metadata and filters: a record of plain JSON; undefined is refused (backends disagree on it). */
const jsonRecord = z.record(z.string(), z.json(), { error: "expected a record of plain JSON" });

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.map((v) => `"${v}"`).join(", ")}` });
}
function oneOrList<const T extends readonly [string, ...string[]]>(values: T) {
  const list = values.map((v) => `"${v}"`).join(", ");
  return z.union([z.enum(values), z.array(z.enum(values)).min(1)], {
    error: `expected one of ${list}, or a non-empty list of them`,
  });
}

const checkpointer = z.custom<object>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    ["get", "put", "list"].every(
      (method) => typeof (value as Record<string, unknown>)[method] === "function",
    ),
  { error: "expected a Checkpointer" },
);
const graph = z.custom<object>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>).invoke === "function",
  { error: "expected a compiled graph" },
);

const fence = z.object(
  {
    runId: id,
    token: z.int({ error: "expected an integer >= 0" }).min(0, {
      error: "expected an integer >= 0",
    }),
    onControl: fn.optional(),
  },
  { error: "expected a Fence ({ runId, token })" },
);

const invokeShape = {
  threadId: id.optional(),
  checkpointId: id.optional(),
  recursionLimit: positiveInteger.optional(),
  durability: oneOf(DURABILITIES).optional(),
  signal: signal.optional(),
  stop: signal.optional(),
  metadata: jsonRecord.optional(),
  fence: fence.optional(),
  newThread: flag.optional(),
};

const objectError = { error: "expected an object" };

const interruptNodes = z.union([z.literal("*"), z.array(name)], {
  error: 'expected a list of node names, or "*" for every node',
});

const retryPolicy = z.strictObject(
  {
    maxAttempts: positiveInteger.optional(),
    initialIntervalMs: z.number().min(0, { error: "expected a number >= 0" }).optional(),
    backoffFactor: z.number().min(1, { error: "expected a number >= 1" }).optional(),
    maxIntervalMs: z.number().min(0, { error: "expected a number >= 0" }).optional(),
    jitter: flag.optional(),
    retryOn: fn.optional(),
  },
  { error: "expected a RetryPolicy object" },
);

export const OPTIONS = {
  invoke: z.strictObject(invokeShape, objectError),
  stream: z.strictObject(
    { ...invokeShape, streamMode: oneOrList(STREAM_MODES).optional(), subgraphs: flag.optional() },
    objectError,
  ),
  getState: z.strictObject(
    { checkpointId: id.optional(), subgraphs: flag.optional(), namespace: z.string().optional() },
    objectError,
  ),
  getStateHistory: z.strictObject(
    {
      limit: positiveInteger.optional(),
      before: id.optional(),
      filter: jsonRecord.optional(),
      namespace: z.string().optional(),
    },
    objectError,
  ),
  updateState: z.strictObject(
    { asNode: name.optional(), checkpointId: id.optional() },
    objectError,
  ),
  bulkUpdateState: z.strictObject({ checkpointId: id.optional() }, objectError),
  supersteps: z
    .array(
      z.strictObject(
        {
          updates: z
            .array(
              z.strictObject(
                { values: z.unknown(), asNode: name.optional() },
                { error: "expected { values, asNode? }" },
              ),
              { error: "expected a list of { values, asNode? }" },
            )
            .min(1, { error: "expected at least one { values, asNode? }" }),
        },
        { error: "expected { updates: [...] }" },
      ),
      { error: "expected a list of { updates: [...] }" },
    )
    .min(1, { error: "give at least one { updates: [...] }" }),
  retryFailedEffects: z.strictObject({ taskId: id.optional() }, objectError),
  entrypoint: z.strictObject(
    {
      name: id,
      checkpointer: checkpointer.optional(),
      retry: retryPolicy.optional(),
      timeoutMs: positiveMs.optional(),
      // Checked in full by resolveDeploy, as compile's.
      version: z.unknown().optional(),
      migrations: z.unknown().optional(),
    },
    objectError,
  ),
  task: z.strictObject({ name: id, retry: retryPolicy.optional() }, objectError),
  compile: z.strictObject(
    {
      checkpointer: checkpointer.optional(),
      interruptBefore: interruptNodes.optional(),
      interruptAfter: interruptNodes.optional(),
      // Checked in full (chain, gaps, duplicates) by resolveDeploy, which names the step.
      name: id.optional(),
      version: z.unknown().optional(),
      migrations: z.unknown().optional(),
      renamedNodes: z.unknown().optional(),
    },
    objectError,
  ),
  createClient: z.strictObject(
    {
      checkpointer,
      graphs: z.record(z.string(), graph, { error: "expected a record of graphs" }).optional(),
    },
    objectError,
  ),
  "runs.create": z.strictObject(
    {
      graph: id,
      strategy: oneOf(MULTITASK_STRATEGIES as unknown as readonly [string, ...string[]]).optional(),
      maxAttempts: positiveInteger.optional(),
      metadata: jsonRecord.optional(),
    },
    objectError,
  ),
  "runs.list": z.strictObject(
    {
      threadId: id.optional(),
      status: oneOrList(RUN_STATUSES as unknown as readonly [string, ...string[]]).optional(),
      limit: positiveInteger.optional(),
      before: id.optional(),
    },
    objectError,
  ),
  "runs.prune": z.strictObject(
    { endedBefore: date, batch: positiveInteger.optional() },
    objectError,
  ),
  "runs.wait": z.strictObject(
    {
      timeoutMs: z
        .number({ error: "expected a finite number >= 0" })
        .min(0, { error: "expected a finite number >= 0" })
        .optional(),
      pollMs: positiveMs.optional(),
    },
    objectError,
  ),
  "runs.stream": z.strictObject(
    { streamMode: oneOrList(RUN_STREAM_MODES).optional(), pollMs: positiveMs.optional() },
    objectError,
  ),
  Worker: z.strictObject(
    {
      graphs: z.record(z.string(), graph, { error: "expected a record of graphs" }),
      checkpointer: checkpointer.optional(),
      concurrency: positiveInteger.optional(),
      leaseMs: positiveMs.optional(),
      heartbeatMs: positiveMs.optional(),
      pollMs: positiveMs.optional(),
      workerId: id.optional(),
      onError: fn.optional(),
      onEvent: fn.optional(),
    },
    objectError,
  ),
} as const;

export type OptionsMethod = keyof typeof OPTIONS;

const isIdValue = (value: unknown): boolean => {
  try {
    assertId(value, "id");
    return true;
  } catch {
    return false;
  }
};
const isSignal = (value: unknown): boolean => value instanceof AbortSignal;

/**
 * invoke's options a value of which is checked here as the schema checks it;
 * `metadata` and `fence` are left to the schema. A null prototype, so that
 * no key such as "constructor" is found on it.
 */
const PLAIN_INVOKE_OPTIONS: Readonly<Record<string, (value: unknown) => boolean>> = Object.assign(
  Object.create(null) as Record<string, (value: unknown) => boolean>,
  {
    threadId: isIdValue,
    checkpointId: isIdValue,
    recursionLimit: (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 1,
    durability: (value: unknown) => (DURABILITIES as readonly unknown[]).includes(value),
    signal: isSignal,
    stop: isSignal,
    newThread: (value: unknown) => typeof value === "boolean",
  },
);

/**
 * Whether `value` is a plain object of invoke's options that the schema
 * accepts, told without it: each key is one of PLAIN_INVOKE_OPTIONS, each
 * value undefined or of its kind. Anything else (a problem to name, metadata,
 * a fence) goes through the schema.
 */
function isPlainInvokeOptions(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) {
    const check = PLAIN_INVOKE_OPTIONS[key];
    if (check === undefined) return false;
    const option = (value as Record<string, unknown>)[key];
    if (option !== undefined && !check(option)) return false;
  }
  return true;
}

/** Positional ids (a thread, a run): the same rule as in options. */
export function checkId(value: unknown, method: string, argument: string): void {
  const result = id.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidArgumentError(
      `${method} ${argument}`,
      `${issue.message}, got ${describe(value)}`,
      { method, option: argument },
    );
  }
}

/**
 * Checks `value` against the method's schema and returns it unchanged (not
 * zod's copy: signals and callbacks stay the caller's own objects).
 */
export function parseOptions<T>(method: OptionsMethod, value: T, label: string = method): T {
  // invoke's usual options need no schema (one safeParse costs more than a superstep's planning).
  if (method === "invoke" && isPlainInvokeOptions(value)) return value;
  let result;
  try {
    result = OPTIONS[method].safeParse(value);
  } catch (error) {
    // z.json recurses: a cycle or an absurd depth overflows the stack.
    if (!(error instanceof RangeError)) throw error;
    throw new InvalidArgumentError(`${label} options`, "holds a cycle or is nested too deep", {
      method: label,
    });
  }
  if (result.success) return value;
  const issue = result.error.issues[0]!;
  const root = method === "supersteps" ? "supersteps" : "options";
  const path = pathOf(root, issue.path);
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys;
    const hints = keys.flatMap((key) =>
      LANGGRAPH_KEYS[key] ? [`${key}: ${LANGGRAPH_KEYS[key]}`] : [],
    );
    throw new InvalidArgumentError(
      `${label} ${path}`,
      `unknown option${keys.length > 1 ? "s" : ""} ${keys.map((k) => JSON.stringify(k)).join(", ")}` +
        (hints.length > 0 ? ` (${hints.join("; ")})` : ""),
      { method: label, option: path, keys },
    );
  }
  const message = issue.message === "Invalid input" ? "expected plain JSON" : issue.message;
  throw new InvalidArgumentError(
    `${label} ${path}`,
    `${message}, got ${describe(at(value, issue.path))}`,
    { method: label, option: path },
  );
}

function pathOf(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `.${String(key)}`;
  return out;
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

export function describe(value: unknown): string {
  switch (typeof value) {
    case "undefined":
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a Date";
  return "an object";
}

/**
 * What invoke's and stream's options require of each other and of the input,
 * checked with them (these were TypeErrors thrown deeper in the run).
 */
export function checkRunArguments(
  method: "invoke" | "stream",
  input: unknown,
  options: {
    readonly threadId?: string;
    readonly newThread?: boolean;
    readonly checkpointId?: string;
  },
  hasCheckpointer: boolean,
): void {
  if (hasCheckpointer && options.threadId === undefined) {
    throw new InvalidArgumentError(
      `${method} options.threadId`,
      "required on a graph compiled with a checkpointer",
      { method, option: "options.threadId" },
    );
  }
  if (options.newThread !== true) return;
  if (input === null || input === undefined || input instanceof Command) {
    throw new InvalidArgumentError(
      `${method} options.newThread`,
      "true needs an input value (a new thread has nothing to resume)",
      { method, option: "options.newThread" },
    );
  }
  if (options.checkpointId !== undefined) {
    throw new InvalidArgumentError(
      `${method} options.newThread`,
      "true cannot be combined with checkpointId",
      { method, option: "options.newThread" },
    );
  }
}
