import { createServer } from "node:http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STORES } from "./support/stores.js";
import {
  END,
  NodeTimeoutError,
  START,
  StateGraph,
  TerminalError,
  defaultRetryOn,
  defineState,
  lastValue,
  type NodeOptions,
} from "@waypoint/core";

const State = defineState({ result: lastValue<string>() });

function single(
  run: Parameters<StateGraph<typeof State>["addNode"]>[1],
  options: NodeOptions = {},
) {
  return new StateGraph(State)
    .addNode("work", run, options)
    .addEdge(START, "work")
    .addEdge("work", END)
    .compile();
}

describe("retries, timeouts and cancellation", () => {
  it("retries a failing node with backoff until it succeeds, counting attempts in ctx", async () => {
    const attempts: number[] = [];
    const started: number[] = [];
    const graph = single(
      (_s, ctx) => {
        attempts.push(ctx.attempt);
        started.push(Date.now());
        if (ctx.attempt < 3) throw new Error("flaky");
        return { result: "ok" };
      },
      { retry: { maxAttempts: 5, initialIntervalMs: 20, backoffFactor: 2, jitter: false } },
    );
    expect(await graph.invoke({})).toEqual({ result: "ok" });
    expect(attempts).toEqual([1, 2, 3]);
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(18);
    expect(started[2]! - started[1]!).toBeGreaterThanOrEqual(38);
  });

  it("gives up after maxAttempts and rethrows the node's own error", async () => {
    let calls = 0;
    class RateLimited extends Error {}
    const graph = single(
      () => {
        calls += 1;
        throw new RateLimited("429");
      },
      { retry: { maxAttempts: 3, initialIntervalMs: 1 } },
    );
    await expect(graph.invoke({})).rejects.toBeInstanceOf(RateLimited);
    expect(calls).toBe(3);
  });

  it("never retries a TerminalError, nor errors retryOn refuses", async () => {
    let calls = 0;
    const terminal = single(
      () => {
        calls += 1;
        throw new TerminalError("card declined");
      },
      { retry: { maxAttempts: 5, initialIntervalMs: 1 } },
    );
    await expect(terminal.invoke({})).rejects.toThrow("card declined");
    expect(calls).toBe(1);
    const picky = single(
      () => {
        calls += 1;
        throw new TypeError("bug");
      },
      {
        retry: { maxAttempts: 5, initialIntervalMs: 1, retryOn: (e) => !(e instanceof TypeError) },
      },
    );
    await expect(picky.invoke({})).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(2);
  });

  it("times a node out, aborting its signal", async () => {
    let aborted = false;
    const graph = single(
      (_s, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            resolve({ result: "too late" });
          });
        }),
      { timeoutMs: 30 },
    );
    const error = await graph.invoke({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeTimeoutError);
    expect((error as NodeTimeoutError).data).toEqual({ node: "work", timeoutMs: 30 });
    expect(aborted).toBe(true);
  });

  it("passes the caller's AbortSignal to nodes", async () => {
    const controller = new AbortController();
    let seen: unknown;
    const graph = single(async (_s, ctx) => {
      controller.abort(new Error("user cancelled"));
      seen = ctx.signal.aborted;
      return { result: "done" };
    });
    await graph.invoke({}, { signal: controller.signal });
    expect(seen).toBe(true);
  });
});

/** Calls of a node that always throws `error`, under `retry`. */
async function callsUntilFailure(error: unknown, retry: NodeOptions["retry"]): Promise<number> {
  let calls = 0;
  const graph = single(
    () => {
      calls += 1;
      throw error;
    },
    retry === undefined ? {} : { retry },
  );
  const thrown: unknown = await graph.invoke({}).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(thrown).toBe(error);
  return calls;
}

/** An error and whether the default policy retries it, stated case by case. */
interface Case {
  readonly error: unknown;
  readonly retried: boolean;
}

const message = fc.string({ maxLength: 20 }).filter((text) => text !== "fetch failed");

const programmingErrors = fc
  .tuple(fc.constantFrom(TypeError, SyntaxError, RangeError, ReferenceError), message)
  .map(([Type, text]): Case => ({ error: new Type(text), retried: false }));

const cancellations = fc.oneof(
  message.map((text): Case => ({ error: new DOMException(text, "AbortError"), retried: false })),
  message.map((text): Case => {
    const error = new Error(text);
    error.name = "AbortError";
    return { error, retried: false };
  }),
);

const httpErrors = fc
  .record({
    status: fc.integer({ min: 100, max: 599 }),
    nested: fc.boolean(),
    asError: fc.boolean(),
  })
  .map(({ status, nested, asError }): Case => {
    const fields = nested ? { response: { status } } : { status };
    const error = asError ? Object.assign(new Error(`HTTP ${status}`), fields) : fields;
    const clientError = status >= 400 && status <= 499 && status !== 408 && status !== 429;
    return { error, retried: !clientError };
  });

const otherErrors = fc.oneof(
  message.map((text): Case => ({ error: new Error(text), retried: true })),
  message.map((text): Case => ({ error: new DOMException(text, "TimeoutError"), retried: true })),
  fc.constant<Case>({ error: new NodeTimeoutError("work", 5), retried: true }),
);

describe("the default retry policy", () => {
  it("makes 3 attempts for retry: {}, waiting about 500 ms then 1 s; none without retry", async () => {
    const started: number[] = [];
    const graph = single(
      () => {
        started.push(Date.now());
        throw new Error("flaky");
      },
      { retry: {} },
    );
    await expect(graph.invoke({})).rejects.toThrow("flaky");
    expect(started).toHaveLength(3);
    // Jitter spreads each wait between half and all of it.
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(240);
    expect(started[2]! - started[1]!).toBeGreaterThanOrEqual(490);
    expect(await callsUntilFailure(new Error("once"), undefined)).toBe(1);
  });

  it("retries only what a second attempt might fix (property over generated errors)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(programmingErrors, cancellations, httpErrors, otherErrors),
        async ({ error, retried }) => {
          expect(defaultRetryOn(error)).toBe(retried);
          expect(await callsUntilFailure(error, { initialIntervalMs: 1 })).toBe(retried ? 3 : 1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("retries fetch's network failure, although it is a TypeError", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    let calls = 0;
    const graph = single(
      async () => {
        calls += 1;
        await fetch(`http://127.0.0.1:${port}/`);
        return { result: "unreachable" };
      },
      { retry: { initialIntervalMs: 1 } },
    );
    await expect(graph.invoke({})).rejects.toThrow("fetch failed");
    expect(calls).toBe(3);
  });

  it("lets a custom retryOn override it, but never retries a TerminalError", async () => {
    const always = { initialIntervalMs: 1, retryOn: () => true };
    expect(await callsUntilFailure(new TypeError("bug"), always)).toBe(3);
    expect(await callsUntilFailure(Object.assign(new Error("gone"), { status: 404 }), always)).toBe(
      3,
    );
    expect(await callsUntilFailure(new TerminalError("declined"), always)).toBe(1);
    expect(await callsUntilFailure(new TerminalError("declined"), { maxAttempts: 5 })).toBe(1);
    const never = { initialIntervalMs: 1, retryOn: () => false };
    expect(await callsUntilFailure(new Error("flaky"), never)).toBe(1);
  });

  it("never retries once the run's signal is aborted, whatever retryOn says", async () => {
    const controller = new AbortController();
    let calls = 0;
    const graph = single(
      () => {
        calls += 1;
        controller.abort();
        throw new Error("stopped midway");
      },
      { retry: { maxAttempts: 5, initialIntervalMs: 1, retryOn: () => true } },
    );
    await expect(graph.invoke({}, { signal: controller.signal })).rejects.toThrow();
    expect(calls).toBe(1);
  });
});

describe.each(STORES)("retry defaults on a saved thread ($name)", (store) => {
  it("retry: {} tries a 503 three times and a 404 once, then keeps the failure in the thread", async () => {
    for (const [status, expected] of [
      [503, 3],
      [404, 1],
    ] as const) {
      let calls = 0;
      const graph = new StateGraph(State)
        .addNode(
          "work",
          () => {
            calls += 1;
            throw Object.assign(new Error(`HTTP ${status}`), { status });
          },
          { retry: { initialIntervalMs: 1 } },
        )
        .addEdge(START, "work")
        .addEdge("work", END)
        .compile({ checkpointer: store.create() });
      await expect(graph.invoke({}, { threadId: `t${status}` })).rejects.toThrow(`HTTP ${status}`);
      expect(calls).toBe(expected);
      const state = await graph.getState(`t${status}`);
      expect(state?.tasks[0]?.error?.message).toBe(`HTTP ${status}`);
    }
  });
});
