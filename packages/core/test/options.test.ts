import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, MemoryCheckpointer } from "@waypoint/checkpoint";
import {
  END,
  START,
  StateGraph,
  Worker,
  createClient,
  defineState,
  ephemeral,
  lastValue,
  untracked,
  type StateOf,
} from "@waypoint/core";
import { OPTIONS, parseOptions } from "../src/internal/options.js";

const State = defineState({ n: lastValue<number>({ default: () => 0 }) });

/** Loops 30 times: more than a sane recursionLimit of 5, fewer than no limit at all. */
function looping(checkpointer = new MemoryCheckpointer()) {
  return new StateGraph(State)
    .addNode("tick", (s) => ({ n: s.n + 1 }))
    .addEdge(START, "tick")
    .addConditionalEdges("tick", (s) => (s.n < 30 ? "tick" : END))
    .compile({ checkpointer });
}

async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => undefined,
    (error: unknown) => error,
  );
}

function expectRefused(error: unknown, argument: string, problem?: string): void {
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).code).toBe("INVALID_ARGUMENT");
  expect((error as Error).message).toContain(`Invalid ${argument}`);
  if (problem !== undefined) expect((error as Error).message).toContain(problem);
}

/** A thread that ran once: a refused call must leave its head where it was. */
async function seeded() {
  const graph = looping();
  await graph.invoke({ n: 25 }, { threadId: "t", recursionLimit: 10 });
  const before = await graph.getState("t");
  const unchanged = async () => {
    expect((await graph.getState("t"))?.checkpointId).toBe(before?.checkpointId);
    expect(await graph.getState("fresh")).toBeUndefined();
  };
  return { graph, unchanged };
}

describe("invoke and stream refuse bad options before anything is read or written", () => {
  it("recursionLimit NaN (Number(process.env.UNSET)) no longer switches the limit off", async () => {
    const { graph, unchanged } = await seeded();
    const error = await errorOf(() =>
      graph.invoke({ n: 0 }, { threadId: "fresh", recursionLimit: NaN }),
    );
    expect((error as Error | undefined)?.message).toBe(
      "Invalid invoke options.recursionLimit: expected an integer >= 1, got NaN",
    );
    expectRefused(error, "invoke options.recursionLimit");
    await unchanged();
  });

  it.each([-1, 0, 2.5, "3"])("recursionLimit %j", async (recursionLimit) => {
    const { graph, unchanged } = await seeded();
    for (const threadId of ["t", "fresh"]) {
      const error = await errorOf(() =>
        graph.invoke({ n: 0 }, { threadId, recursionLimit: recursionLimit as number }),
      );
      expectRefused(error, "invoke options.recursionLimit", "expected an integer >= 1");
    }
    await unchanged();
  });

  it('checkpointId "" (it ran from the head as if none were given)', async () => {
    const { graph, unchanged } = await seeded();
    const error = await errorOf(() => graph.invoke({ n: 29 }, { threadId: "t", checkpointId: "" }));
    expectRefused(error, "invoke options.checkpointId", 'got ""');
    await unchanged();
  });

  it('durability "bogus"', async () => {
    const { graph, unchanged } = await seeded();
    for (const threadId of ["t", "fresh"]) {
      const error = await errorOf(() =>
        graph.invoke({ n: 29 }, { threadId, durability: "bogus" as "sync" }),
      );
      expectRefused(error, "invoke options.durability", '"sync", "async", "exit", got "bogus"');
    }
    await unchanged();
  });

  it.each([["bogus"], [["values", "bogus"]]])("streamMode %j", async (streamMode) => {
    const { graph, unchanged } = await seeded();
    const events: unknown[] = [];
    const error = await errorOf(async () => {
      for await (const event of graph.stream(
        { n: 29 },
        {
          threadId: "fresh",
          streamMode: streamMode as "values",
        },
      ))
        events.push(event);
    });
    expectRefused(error, "stream options.streamMode", 'expected one of "values"');
    expect(events).toEqual([]);
    await unchanged();
  });

  it("LangGraph's configurable.thread_id is refused with a pointer to threadId", async () => {
    const { graph, unchanged } = await seeded();
    const error = await errorOf(() =>
      graph.invoke({ n: 29 }, { configurable: { thread_id: "t" } } as never),
    );
    expectRefused(error, "invoke options", 'unknown option "configurable"');
    expect((error as Error).message).toContain("threadId");
    await unchanged();
  });

  it("unknown keys are named", async () => {
    const { graph, unchanged } = await seeded();
    const error = await errorOf(() =>
      graph.invoke({ n: 29 }, { threadId: "t", recursionlimit: 3 } as never),
    );
    expectRefused(error, "invoke options", 'unknown option "recursionlimit"');
    await unchanged();
  });
});

describe("the state APIs refuse bad options", () => {
  it('getState checkpointId "" (it returned the head)', async () => {
    const { graph } = await seeded();
    expectRefused(
      await errorOf(() => graph.getState("t", { checkpointId: "" })),
      "getState options.checkpointId",
    );
  });

  it("a history filter { k: undefined } (matched everything on three backends, nothing on PostgreSQL)", async () => {
    const { graph } = await seeded();
    const error = await errorOf(async () => {
      for await (const snapshot of graph.getStateHistory("t", {
        filter: { k: undefined },
      } as never))
        void snapshot;
    });
    expectRefused(error, "getStateHistory options.filter.k", "got undefined");
  });

  it('updateState checkpointId "" writes nothing', async () => {
    const { graph, unchanged } = await seeded();
    const error = await errorOf(() => graph.updateState("t", { n: 1 }, { checkpointId: "" }));
    expectRefused(error, "updateState options.checkpointId");
    await unchanged();
  });
});

describe("constructors and the runs API refuse bad options", () => {
  it("compile refuses an unknown option", () => {
    expect(() =>
      new StateGraph(State)
        .addNode("tick", () => ({}))
        .addEdge(START, "tick")
        .compile({ interruptbefore: ["tick"] } as never),
    ).toThrow(/Invalid compile options: unknown option "interruptbefore"/);
  });

  it("Worker concurrency 0 is an INVALID_ARGUMENT naming it (a TypeError before)", () => {
    const error = (() => {
      try {
        new Worker({ graphs: { loop: looping() }, concurrency: 0 });
      } catch (thrown) {
        return thrown;
      }
    })();
    expectRefused(error, "Worker options.concurrency", "got 0");
  });

  it("runs.wait pollMs NaN", async () => {
    const checkpointer = new MemoryCheckpointer();
    const client = createClient({ checkpointer });
    const run = await client.runs.create("t", { n: 1 }, { graph: "loop" });
    expectRefused(
      await errorOf(() => client.runs.wait(run.id, { pollMs: NaN })),
      "runs.wait options.pollMs",
    );
  });
});

describe("lastValue without a default", () => {
  it("is typed T | undefined, since it reads undefined until written", async () => {
    const Counter = defineState({ count: lastValue<number>(), other: lastValue<string>() });
    const graph = new StateGraph(Counter)
      .addNode("add", (s) => {
        // @ts-expect-error possibly undefined: `s.count + 1` stored NaN silently
        const sloppy: number = s.count + 1;
        void sloppy;
        return { count: (s.count ?? 0) + 1 };
      })
      .addEdge(START, "add")
      .addEdge("add", END)
      .compile();
    const values: StateOf<typeof Counter> = await graph.invoke({ other: "x" });
    expect(values).toEqual({ count: 1, other: "x" });
    const withDefault: StateOf<typeof State>["n"] = 0; // a default keeps it `number`
    expect(withDefault).toBe(0);
  });
});

describe("untracked without a default, and ephemeral", () => {
  it("are typed T | undefined, since they read undefined until written (and after a restart or a step)", async () => {
    const Handles = defineState({
      cache: untracked<number>(),
      kept: untracked<number>({ default: () => 1 }),
      signal: ephemeral<string>(),
    });
    const graph = new StateGraph(Handles)
      .addNode("use", (s) => {
        // Type-checked, never called: both lines would fail (NaN stored, a TypeError thrown).
        const sloppy = () => {
          // @ts-expect-error possibly undefined: an untracked key is empty after a restart
          const next: number = s.cache + 1;
          // @ts-expect-error possibly undefined: an ephemeral key is gone a step after its write
          const shout: string = s.signal.toUpperCase();
          return [next, shout];
        };
        void sloppy;
        const kept: number = s.kept + 1; // a default keeps it `number`
        return { cache: (s.cache ?? 0) + kept };
      })
      .addEdge(START, "use")
      .addEdge("use", END)
      .compile();
    const values: StateOf<typeof Handles> = await graph.invoke({});
    expect(values).toEqual({ cache: 2, kept: 1, signal: undefined });
  });
});

describe("invoke's options checked without the schema (its usual options)", () => {
  const values = fc.constantFrom<unknown>(
    undefined,
    null,
    "",
    "t",
    "a\u0000b",
    "\ud800",
    "x".repeat(2000),
    0,
    1,
    1.5,
    -3,
    2 ** 53,
    Number.NaN,
    "sync",
    "async",
    "exit",
    "never",
    true,
    "yes",
    new AbortController().signal,
    {},
    [],
  );
  const keys = fc.constantFrom(
    "threadId",
    "checkpointId",
    "recursionLimit",
    "durability",
    "signal",
    "stop",
    "newThread",
    "metadata",
    "thread_id",
    "constructor",
    "__proto__",
    "toString",
  );

  it("refuses what the schema refuses, and accepts what it accepts", () => {
    fc.assert(
      fc.property(fc.dictionary(keys, values, { maxKeys: 4 }), (options) => {
        const accepted = OPTIONS.invoke.safeParse(options).success;
        const parse = () => parseOptions("invoke", options);
        if (accepted) expect(parse()).toBe(options);
        else expect(parse).toThrow(InvalidArgumentError);
      }),
      { numRuns: 2000 },
    );
  });
});
