/**
 * Property: every public call with arbitrary arguments ends in one of two
 * ways. Success that round-trips (getState shows what was written), or a
 * WaypointError with a code, having written nothing. Never an untyped throw,
 * never a hang. Run on memory and SQLite by ../options-fuzz.test.ts, on
 * PostgreSQL and Redis by ../options-fuzz.int.test.ts; `pnpm fuzz` runs both
 * with more cases. It lives with the chaos tests, the one package that has
 * every backend.
 */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { expect } from "vitest";
import { WaypointError, type Checkpointer } from "@waypoint/checkpoint";
import { END, START, StateGraph, createClient, defineState, lastValue } from "@waypoint/core";

const HANG_MS = 10_000;
const WRITES = new Set(["put", "putPendingWrites", "deleteThread", "copyThread", "importThread"]);

const State = defineState({
  v: lastValue<unknown>(),
  n: lastValue<number>({ default: () => 0 }),
});

/** The store, counting the writes that succeeded: a failed call must add none. */
function counting(inner: Checkpointer): { store: Checkpointer; writes: () => number } {
  let writes = 0;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (!WRITES.has(String(key))) return method;
      return async (...args: unknown[]) => {
        const result = await method(...args);
        writes += 1;
        return result;
      };
    },
  });
  return { store, writes: () => writes };
}

function graphOn(store: Checkpointer) {
  return new StateGraph(State)
    .addNode("echo", (s) => ({ n: s.n + 1 }))
    .addEdge(START, "echo")
    .addEdge("echo", END)
    .compile({ checkpointer: store });
}

// Thread ids: a few that get reused (so calls meet threads with history) and
// arbitrary strings, lone surrogates, NUL and over-long ones included.
const threadId = fc.oneof(
  fc.constantFrom("t1", "t2", "t3"),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "binary", minLength: 510, maxLength: 514 }),
  fc.anything(),
);
/** Values as the serializer keeps them: JSON plus Date, Map, Set, bigint, undefined. */
const value = fc.anything({
  withDate: true,
  withMap: true,
  withSet: true,
  withBigInt: true,
  maxDepth: 3,
});
const plausible = {
  threadId,
  checkpointId: fc.oneof(fc.constant(""), fc.string({ unit: "binary", maxLength: 8 })),
  recursionLimit: fc.oneof(
    fc.integer({ min: -2, max: 30 }),
    fc.constantFrom(NaN, Infinity, 2.5, "3"),
  ),
  durability: fc.oneof(fc.constantFrom("sync", "async", "exit"), fc.string()),
  metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue()), value),
  newThread: fc.boolean(),
  streamMode: fc.oneof(
    fc.constantFrom("values", "updates", "tasks", "checkpoints", "custom", "messages"),
    fc.array(fc.constantFrom("values", "updates", "bogus"), { maxLength: 3 }),
  ),
  subgraphs: fc.boolean(),
  limit: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constant(NaN)),
  before: fc.string({ unit: "binary", maxLength: 8 }),
  filter: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue()), value),
  asNode: fc.constantFrom("echo", "__start__", "__end__", "nope", ""),
  signal: fc.constant(new AbortController().signal),
};
/** Options that should work, so that a good share of the calls succeed and round-trip. */
const good = fc.record(
  {
    threadId: fc.oneof(
      fc.constantFrom("t1", "t2", "t3"),
      fc.string({ minLength: 1, maxLength: 8 }),
    ),
    recursionLimit: fc.integer({ min: 1, max: 30 }),
    durability: fc.constantFrom("sync", "async", "exit"),
    metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.jsonValue()),
    streamMode: fc.constantFrom("values", "updates"),
  },
  { requiredKeys: ["threadId"] },
);
/** A mix of plausible options, arbitrary values under real keys, and arbitrary keys. */
const options = fc.oneof(
  good,
  fc.constant(undefined),
  fc.record(plausible, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom(...Object.keys(plausible)), fc.anything(), { maxKeys: 3 }),
  fc.anything(),
);
const call = fc.oneof(
  fc.record({ method: fc.constant("invoke"), input: fc.record({ v: value }), options }),
  fc.record({ method: fc.constant("invoke"), input: fc.constant(null), options }),
  fc.record({ method: fc.constant("stream"), input: fc.record({ v: value }), options }),
  fc.record({ method: fc.constant("getState"), threadId, options }),
  fc.record({ method: fc.constant("getStateHistory"), threadId, options }),
  fc.record({ method: fc.constant("updateState"), threadId, values: value, options }),
  fc.record({ method: fc.constant("bulkUpdateState"), threadId, values: value, options }),
  fc.record({
    method: fc.constant("runs.create"),
    threadId,
    values: value,
    options: fc.oneof(
      fc.record(
        {
          graph: fc.oneof(fc.constantFrom("g", ""), fc.string({ unit: "binary", maxLength: 6 })),
          strategy: fc.oneof(
            fc.constantFrom("reject", "enqueue", "interrupt", "rollback"),
            fc.string(),
          ),
          maxAttempts: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constant(NaN)),
          metadata: plausible.metadata,
        },
        { requiredKeys: ["graph"] },
      ),
      options,
    ),
  }),
  fc.record({ method: fc.constant("runs.list"), threadId, options }),
  fc.record({
    method: fc.constant("runs.control"),
    action: fc.constantFrom("get", "cancel", "pause", "resume"),
    runId: threadId,
  }),
);
type Call = typeof call extends fc.Arbitrary<infer C> ? C : never;

async function perform(
  graph: ReturnType<typeof graphOn>,
  client: ReturnType<typeof createClient>,
  c: Call,
): Promise<() => Promise<void>> {
  const o = ("options" in c ? c.options : undefined) as never;
  const head = async (id: unknown) => (await graph.getState(id as string))?.values;
  switch (c.method) {
    case "invoke": {
      await graph.invoke(c.input, o);
      return async () => {
        const id = (c.options as { threadId?: unknown } | undefined)?.threadId;
        if (c.input !== null) expect(sameValue((await head(id))?.v, c.input.v)).toBe(true);
      };
    }
    case "stream": {
      for await (const event of graph.stream(c.input, o)) void event;
      return async () => {
        const id = (c.options as { threadId?: unknown } | undefined)?.threadId;
        expect(sameValue((await head(id))?.v, c.input.v)).toBe(true);
      };
    }
    case "getState":
      await graph.getState(c.threadId as string, o);
      return async () => undefined;
    case "getStateHistory":
      for await (const snapshot of graph.getStateHistory(c.threadId as string, o)) void snapshot;
      return async () => undefined;
    case "updateState":
    case "bulkUpdateState": {
      const values = { v: c.values };
      const id =
        c.method === "updateState"
          ? await graph.updateState(c.threadId as string, values, o)
          : await graph.bulkUpdateState(c.threadId as string, [{ updates: [{ values }] }], o);
      return async () => {
        const state = await graph.getState(c.threadId as string);
        expect(state?.checkpointId).toBe(id);
        const asNode = (c.options as { asNode?: unknown } | undefined)?.asNode;
        if (asNode === undefined || asNode === "echo" || asNode === "__start__")
          expect(sameValue(state?.values.v, c.values)).toBe(true);
      };
    }
    case "runs.create": {
      const run = await client.runs.create(c.threadId as string, { v: c.values }, o);
      return async () => {
        const stored = await client.runs.get(run.id);
        expect(stored?.threadId).toBe(c.threadId);
        expect(stored?.graph).toBe((c.options as { graph: string }).graph);
        expect(sameValue((stored?.input as { v?: unknown } | undefined)?.v, c.values)).toBe(true);
      };
    }
    case "runs.list":
      await client.runs.list(o);
      return async () => undefined;
    case "runs.control":
      await client.runs[c.action](c.runId as string);
      return async () => undefined;
  }
}

/**
 * Deep equality as the serializer keeps values (it has one NaN, and no -0).
 * An update's key holding undefined is not a write (as in LangGraph), so the
 * key keeps whatever it held.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (b === undefined) return true;
  return isDeepStrictEqual(a, b) || isDeepStrictEqual(normalize(a), normalize(b));
}
function normalize(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) =>
      typeof v === "bigint" ? `${v}n` : Object.is(v, -0) ? 0 : v,
    ) ?? "null",
  ) as unknown;
}

async function withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung over ${HANG_MS} ms: ${what}`)), HANG_MS);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function describeCall(c: Call): string {
  return fc.stringify(c).slice(0, 400);
}

/**
 * Runs `runs` arbitrary calls against a graph and a client on `inner`, each
 * ending in a round-trip or a typed error that wrote nothing (seeded by
 * FUZZ_SEED, default 17).
 */
export async function fuzzPublicApi(inner: Checkpointer, runs: number): Promise<void> {
  const { store, writes } = counting(inner);
  const graph = graphOn(store);
  const client = createClient({ checkpointer: inner });
  /** Runs are written through the run store: count them for the calls that may add one. */
  const runCount = async (method: string) =>
    method === "runs.create" ? (await client.runs.list({ limit: 1000 })).length : 0;
  const tally = { calls: 0, succeeded: 0 };
  await fc.assert(
    fc.asyncProperty(call, async (c) => {
      const before = writes();
      const runsBefore = await runCount(c.method);
      let check: (() => Promise<void>) | undefined;
      tally.calls += 1;
      try {
        check = await withDeadline(perform(graph, client, c), describeCall(c));
      } catch (error) {
        if (!(error instanceof WaypointError) || typeof error.code !== "string") {
          throw new Error(`untyped ${String(error)} from ${describeCall(c)}`, { cause: error });
        }
        expect(writes(), `a failed call wrote: ${describeCall(c)}`).toBe(before);
        expect(await runCount(c.method), `a failed call queued a run: ${describeCall(c)}`).toBe(
          runsBefore,
        );
        return;
      }
      await check();
      tally.succeeded += 1;
    }),
    { numRuns: runs, seed: Number(process.env.FUZZ_SEED ?? 17) },
  );
  // A fuzz where everything fails would test only the refusals.
  expect(tally.succeeded).toBeGreaterThan(tally.calls / 10);
}
