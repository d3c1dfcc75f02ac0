import { describe, expect, it } from "vitest";
import {
  END,
  NodeTimeoutError,
  START,
  StateGraph,
  TerminalError,
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
