import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ProxyTracer,
  ProxyTracerProvider,
  SpanStatusCode,
  createNoopMeter,
  trace,
} from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import {
  Command,
  END,
  START,
  StateGraph,
  defineState,
  entrypoint,
  interrupt,
  lastValue,
  reducer,
  task,
} from "@waypoint/core";
import { STORES } from "./support/stores.js";
import { installTelemetry, parentOf, spanTree, type TestTelemetry } from "./support/otel.js";

const State = defineState({
  log: reducer(
    (a: string[], b: string) => [...a, b],
    () => [] as string[],
  ),
  approved: lastValue<boolean>(),
});

let telemetry: TestTelemetry;

/** Two fetches in parallel, then a review that sends a notice (an effect) and waits for approval. */
function shop(store: ReturnType<(typeof STORES)[number]["create"]>) {
  return new StateGraph(State)
    .addNode("fetch_a", () => ({ log: "a" }))
    .addNode("fetch_b", async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { log: "b" };
    })
    .addNode("review", async (_state, ctx) => {
      await ctx.effect("notify", () => "sent");
      const approved = interrupt<boolean>("approve?");
      return { approved, log: "reviewed" };
    })
    .addEdge(START, "fetch_a")
    .addEdge(START, "fetch_b")
    .addEdge("fetch_a", "review")
    .addEdge("fetch_b", "review")
    .addEdge("review", END)
    .compile({ checkpointer: store, name: "shop" });
}

/** The tree without pending-write puts, whose order among parallel tasks varies. */
const shape = (spans: readonly ReadableSpan[]) =>
  spanTree(spans.filter((span) => span.name !== "waypoint.checkpoint.put_writes"));

const named = (spans: readonly ReadableSpan[], name: string) =>
  spans.filter((span) => span.name === name);

describe.each(STORES)("OpenTelemetry spans ($name)", (store) => {
  beforeEach(() => {
    telemetry = installTelemetry();
  });
  afterEach(async () => {
    await telemetry.uninstall();
  });

  it("a run with parallel tasks, an effect, an interrupt and a resume gives the expected span tree", async () => {
    const graph = shop(store.create());
    await graph.invoke({}, { threadId: "t" });
    const first = telemetry.spans();
    expect(shape(first)).toBe(
      [
        "invoke_workflow shop",
        "  waypoint.checkpoint.load",
        "  waypoint.checkpoint.put",
        "  waypoint.superstep",
        "    fetch_a",
        "    fetch_b",
        "    waypoint.checkpoint.put",
        "  waypoint.superstep",
        "    review",
        "      waypoint.effect notify",
      ].join("\n"),
    );
    const [run] = named(first, "invoke_workflow shop");
    expect(run!.attributes).toMatchObject({
      "gen_ai.operation.name": "invoke_workflow",
      "gen_ai.conversation.id": "t",
      "waypoint.graph.name": "shop",
      "waypoint.graph.version": "1",
      "waypoint.resumed": false,
      "waypoint.interrupts": 1,
    });
    const [step0, step1] = named(first, "waypoint.superstep");
    expect(step0!.attributes).toMatchObject({ "waypoint.step": 0, "waypoint.task.count": 2 });
    expect(step1!.attributes).toMatchObject({ "waypoint.step": 1, "waypoint.task.count": 1 });
    const [review] = named(first, "review");
    expect(review!.attributes).toMatchObject({
      "waypoint.node": "review",
      "waypoint.task.attempt": 1,
      "waypoint.task.retry": false,
      "waypoint.task.interrupted": true,
    });
    expect(review!.status.code).toBe(SpanStatusCode.UNSET);
    const [executed] = named(first, "waypoint.effect notify");
    expect(executed!.attributes).toMatchObject({
      "waypoint.effect.name": "notify",
      "waypoint.effect.outcome": "executed",
      "waypoint.effect.replayed": false,
    });
    expect(executed!.attributes["waypoint.idempotency_key"]).toMatch(/\S{16,}/);
    const puts = named(first, "waypoint.checkpoint.put");
    for (const put of puts) {
      expect(put.attributes["waypoint.checkpoint.backend"]).toBe(store.name);
      expect(put.attributes["waypoint.checkpoint.round_trips"]).toBe(1);
      expect(put.attributes["waypoint.checkpoint.bytes"]).toBeGreaterThan(0);
    }
    // The parallel tasks saved their writes as they finished: under their superstep.
    const writes = named(first, "waypoint.checkpoint.put_writes");
    expect(writes.length).toBeGreaterThanOrEqual(2);

    telemetry.exporter.reset();
    const done = await graph.invoke(new Command({ resume: true }), { threadId: "t" });
    expect(done.approved).toBe(true);
    const second = telemetry.spans();
    expect(shape(second)).toBe(
      [
        "invoke_workflow shop",
        "  waypoint.checkpoint.load",
        "  waypoint.superstep",
        "    review",
        "      waypoint.effect notify",
        "    waypoint.checkpoint.put",
      ].join("\n"),
    );
    const [resumed] = named(second, "invoke_workflow shop");
    expect(resumed!.attributes["waypoint.resumed"]).toBe(true);
    // The resume links to the run that wrote the checkpoint it went on from.
    expect(resumed!.links.map((link) => link.context.spanId)).toEqual([run!.spanContext().spanId]);
    expect(resumed!.links[0]!.context.traceId).toBe(run!.spanContext().traceId);
    const [replayed] = named(second, "waypoint.effect notify");
    expect(replayed!.attributes).toMatchObject({
      "waypoint.effect.outcome": "replayed",
      "waypoint.idempotency_key": executed!.attributes["waypoint.idempotency_key"],
    });
    const [load] = named(second, "waypoint.checkpoint.load");
    expect(load!.attributes["waypoint.checkpoint.backend"]).toBe(store.name);
    expect(load!.attributes["waypoint.checkpoint.bytes"]).toBeGreaterThan(0);

    expect(await telemetry.metric("waypoint.supersteps")).toBe(3);
    expect(
      await telemetry.metric("waypoint.effects", { "waypoint.effect.outcome": "executed" }),
    ).toBe(1);
    expect(
      await telemetry.metric("waypoint.effects", { "waypoint.effect.outcome": "replayed" }),
    ).toBe(1);
    expect(
      await telemetry.metric("waypoint.checkpoint.duration", {
        "waypoint.checkpoint.backend": store.name,
        "waypoint.checkpoint.operation": "put",
      }),
    ).toBe(puts.length + 1);
  });

  it.each(["async", "exit"] as const)(
    "with durability %s every superstep's span ends, and the tree is whole",
    async (durability) => {
      const graph = shop(store.create());
      await graph.invoke({}, { threadId: "t", durability });
      await graph.invoke(new Command({ resume: true }), { threadId: "t", durability });
      const spans = telemetry.spans();
      expect(
        named(spans, "waypoint.superstep").map((span) => span.attributes["waypoint.step"]),
      ).toEqual([0, 1, 1]);
      const ids = new Set(spans.map((span) => span.spanContext().spanId));
      const orphans = spans.filter((span) => {
        const parent = parentOf(span);
        return parent !== undefined && !ids.has(parent);
      });
      expect(orphans).toEqual([]);
      expect(named(spans, "invoke_workflow shop")).toHaveLength(2);
    },
  );

  it("a subgraph node's supersteps and tasks nest under the node's task span", async () => {
    const inner = new StateGraph(State)
      .addNode("draft", () => ({ log: "drafted" }))
      .addNode("polish", () => ({ log: "polished" }))
      .addEdge(START, "draft")
      .addEdge("draft", "polish")
      .addEdge("polish", END)
      .compile({ name: "writer" });
    const graph = new StateGraph(State)
      .addNode("write", inner)
      .addEdge(START, "write")
      .addEdge("write", END)
      .compile({ checkpointer: store.create(), name: "outer" });
    await graph.invoke({}, { threadId: "t" });
    const spans = telemetry.spans();
    expect(
      spanTree(spans.filter((span) => span.name.startsWith("waypoint.checkpoint") === false)),
    ).toBe(
      [
        "invoke_workflow outer",
        "  waypoint.superstep",
        "    write",
        "      waypoint.superstep",
        "        draft",
        "      waypoint.superstep",
        "        polish",
      ].join("\n"),
    );
    const nested = named(spans, "waypoint.superstep").filter(
      (span) => span.attributes["waypoint.namespace"] !== undefined,
    );
    expect(nested).toHaveLength(2);
    expect(String(nested[0]!.attributes["waypoint.namespace"])).toMatch(/^write:/);
  });

  it("an entrypoint's task() calls are effect spans of kind task, replayed on resume", async () => {
    const fetchPage = task("fetchPage", (url: string) => `<html>${url}</html>`);
    let crash = true;
    const report = entrypoint(
      { name: "report", checkpointer: store.create() },
      async (urls: string[]) => {
        const pages = await Promise.all(urls.map((url) => fetchPage(url)));
        if (crash) throw new Error("the process died here");
        return pages.length;
      },
    );
    await expect(report.invoke(["a", "b"], { threadId: "t" })).rejects.toThrow("died");
    crash = false;
    telemetry.exporter.reset();
    expect(await report.invoke(null, { threadId: "t" })).toBe(2);
    const calls = named(telemetry.spans(), "waypoint.effect fetchPage");
    expect(
      calls.map((span) => [
        span.attributes["waypoint.effect.kind"],
        span.attributes["waypoint.effect.outcome"],
      ]),
    ).toEqual([
      ["task", "replayed"],
      ["task", "replayed"],
    ]);
    expect(
      named(telemetry.spans(), "invoke_workflow report")[0]!.attributes["waypoint.resumed"],
    ).toBe(true);
  });

  it("a node that fails marks its span ERROR with the exception, and the run's", async () => {
    const graph = new StateGraph(State)
      .addNode("flaky", () => {
        throw new Error("the API is down");
      })
      .addEdge(START, "flaky")
      .addEdge("flaky", END)
      .compile({ checkpointer: store.create(), name: "failing" });
    await expect(graph.invoke({}, { threadId: "t" })).rejects.toThrow("the API is down");
    const spans = telemetry.spans();
    for (const name of ["flaky", "waypoint.superstep", "invoke_workflow failing"]) {
      const [span] = named(spans, name);
      expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: "the API is down" });
      expect(span!.attributes["error.type"]).toBe("Error");
    }
    const [task] = named(spans, "flaky");
    expect(task!.events.map((event) => event.name)).toEqual(["exception"]);
    expect(task!.events[0]!.attributes?.["exception.message"]).toBe("the API is down");
    expect(parentOf(task!)).toBe(named(spans, "waypoint.superstep")[0]!.spanContext().spanId);
  });

  it("a store's span covers the store's call whole, its synchronous part included", async () => {
    // A store that works before its promise returns (SQLite's writes are synchronous).
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const inner = store.create();
    const slow = Object.create(inner) as typeof inner;
    slow.get = (...args) => (busy(15), inner.get(...args));
    slow.put = (request) => (busy(15), inner.put(request));
    slow.putPendingWrites = (...args) => (busy(15), inner.putPendingWrites(...args));
    const graph = new StateGraph(State)
      .addNode("work", async (_state, ctx) => ({ log: await ctx.effect("call", () => "done") }))
      .addEdge(START, "work")
      .addEdge("work", END)
      .compile({ checkpointer: slow, name: "slow" });
    await graph.invoke({}, { threadId: "t" });
    const spans = telemetry.spans();
    const ms = (span: ReadableSpan) => span.duration[0] * 1000 + span.duration[1] / 1e6;
    for (const name of ["load", "put", "put_writes"]) {
      const found = named(spans, `waypoint.checkpoint.${name}`);
      expect(found.length, name).toBeGreaterThan(0);
      for (const span of found) expect(ms(span), name).toBeGreaterThanOrEqual(14);
    }
  });
});

describe("with a tracer provider but no context manager", () => {
  it("Waypoint's spans still form one tree under the run (their parents are passed, not found)", async () => {
    telemetry = installTelemetry({ contextManager: false });
    try {
      const graph = shop(STORES[0]!.create());
      await graph.invoke({}, { threadId: "t" });
      const spans = telemetry.spans();
      const roots = spans.filter((span) => parentOf(span) === undefined).map((span) => span.name);
      expect(roots).toEqual(["invoke_workflow shop"]);
      // The effect is under the superstep of its task (its task's span is not found without one).
      const [effect] = named(spans, "waypoint.effect notify");
      expect(parentOf(effect!)).toBe(named(spans, "waypoint.superstep")[1]!.spanContext().spanId);
    } finally {
      await telemetry.uninstall();
    }
  });
});

describe("with no OpenTelemetry SDK registered", () => {
  afterEach(() => vi.restoreAllMocks());

  it("no span objects are created: no tracer is asked for one, no instrument is made", async () => {
    // Every way to a span through the API with no SDK ends in these: the
    // global provider's getTracer, the proxy tracer it hands out, the no-op tracer.
    const noopTracer = Object.getPrototypeOf(
      new ProxyTracerProvider().getDelegate().getTracer("probe"),
    ) as object;
    const calls = [
      vi.spyOn(ProxyTracerProvider.prototype, "getTracer"),
      vi.spyOn(ProxyTracer.prototype, "startSpan"),
      vi.spyOn(ProxyTracer.prototype, "startActiveSpan"),
      vi.spyOn(noopTracer as { startSpan: () => unknown }, "startSpan"),
      vi.spyOn(
        Object.getPrototypeOf(createNoopMeter()) as { createCounter: () => unknown },
        "createCounter",
      ),
    ];
    const graph = shop(STORES[0]!.create());
    await graph.invoke({}, { threadId: "t" });
    await graph.invoke(new Command({ resume: true }), { threadId: "t" });
    expect(calls.map((spy) => spy.mock.calls.length)).toEqual([0, 0, 0, 0, 0]);
    // Nor does any checkpoint carry a trace context.
    for await (const snapshot of graph.getStateHistory("t"))
      expect(snapshot.metadata).not.toHaveProperty("traceparent");
    // The probes do see a span made through the API with no SDK: this test can fail.
    trace.getTracer("probe").startSpan("probe").end();
    expect(calls.map((spy) => spy.mock.calls.length)).toEqual([1, 1, 0, 1, 0]);
  });
});
