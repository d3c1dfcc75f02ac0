import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryCheckpointer, type Checkpointer } from "@waypoint/checkpoint";
import { SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import {
  Client,
  Command,
  entrypoint,
  interrupt,
  task,
  type EntrypointContext,
} from "@waypoint/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createInspectorApp, type InspectorOptions } from "../src/index.js";
import { buildToolGraph } from "./support/tool-graph.js";
import {
  buildApprovalGraph,
  buildParentGraph,
  type ApprovalGraph,
} from "./support/approval-graph.js";

const TOKEN = "test-token";
const ORIGIN = "http://localhost";

const stores: { name: string; open: () => { checkpointer: Checkpointer; cleanup: () => void } }[] =
  [
    { name: "memory", open: () => ({ checkpointer: new MemoryCheckpointer(), cleanup: () => {} }) },
    {
      name: "SQLite",
      open: () => {
        const dir = mkdtempSync(join(tmpdir(), "inspector-api-"));
        return {
          checkpointer: new SqliteCheckpointer(join(dir, "store.db")),
          cleanup: () => rmSync(dir, { recursive: true, force: true }),
        };
      },
    },
  ];

describe.each(stores)("inspector API on $name", ({ open }) => {
  let checkpointer: Checkpointer;
  let cleanup: () => void;
  let graph: ApprovalGraph;
  let keys: string[];

  beforeEach(async () => {
    ({ checkpointer, cleanup } = open());
    keys = [];
    graph = buildApprovalGraph(checkpointer, keys);
    await graph.invoke({ request: "10 lanterns" }, { threadId: "order-waiting" });
    await graph.invoke({ request: "2 ropes" }, { threadId: "order-done" });
    await graph.invoke(new Command({ resume: { approved: true } }), { threadId: "order-done" });
  });
  afterEach(async () => {
    await checkpointer.close();
    cleanup();
  });

  const appWith = (options: Partial<InspectorOptions> = {}) =>
    createInspectorApp({ checkpointer, graphs: { approval: graph }, token: TOKEN, ...options });
  const get = async (path: string, options: Partial<InspectorOptions> = {}) => {
    const response = await appWith(options).request(path);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const post = async (
    path: string,
    body: unknown,
    headers: Record<string, string> = { "x-waypoint-token": TOKEN, origin: ORIGIN },
    options: Partial<InspectorOptions> = {},
  ) => {
    const response = await appWith(options).request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const headOf = async (threadId: string) => (await graph.getState(threadId))!.checkpointId;

  it("lists threads with status, step and graph, and searches them by id", async () => {
    const { status, body } = await get("/api/threads");
    expect(status).toBe(200);
    const threads = body.threads as { threadId: string; status: string; graph: string }[];
    expect(threads.map((t) => [t.threadId, t.status, t.graph])).toEqual([
      ["order-done", "finished", "approval"],
      ["order-waiting", "interrupted", "approval"],
    ]);
    const found = await get("/api/threads?q=WAIT");
    expect((found.body.threads as { threadId: string }[]).map((t) => t.threadId)).toEqual([
      "order-waiting",
    ]);
    const finished = await get("/api/threads?status=finished");
    expect((finished.body.threads as unknown[]).length).toBe(1);
  });

  it("shows one timeline row per checkpoint, with the writes and their nodes", async () => {
    const stored: string[] = [];
    for await (const header of checkpointer.list("order-done")) stored.push(header.id);
    const { body } = await get("/api/threads/order-done/timeline");
    const rows = body.rows as {
      id: string;
      source: string;
      writes: { node: string; channel: string }[];
      bytes: number;
    }[];
    expect(rows.map((row) => row.id)).toEqual([...stored].reverse());
    expect(rows.map((row) => row.source)).toEqual(["input", "loop", "loop", "loop"]);
    expect(rows[1]!.writes).toEqual([{ node: "gather", channel: "items", count: 1 }]);
    expect(rows.every((row) => row.bytes > 0)).toBe(true);
  });

  it("shows the state at a checkpoint and the keys a superstep changed", async () => {
    const { body: timeline } = await get("/api/threads/order-done/timeline");
    const rows = timeline.rows as { id: string }[];
    const state = await get(`/api/threads/order-done/state?checkpoint=${rows[1]!.id}`);
    expect(state.body.values).toMatchObject({ request: "2 ropes", items: ["stock:3", "price:42"] });
    expect(state.body.exactness).toBe("graph");
    const diff = await get(`/api/threads/order-done/diff?to=${rows[3]!.id}`);
    expect(diff.body.changedKeys).toEqual(["outcome"]);
    const across = await get(`/api/threads/order-done/diff?from=${rows[0]!.id}&to=${rows[3]!.id}`);
    expect(across.body.changedKeys).toEqual(["decision", "items", "outcome"]);
  });

  it("rebuilds the state from the store alone when it has no graph", async () => {
    const { body } = await get("/api/threads/order-done/state", { graphs: {} });
    expect(body.exactness).toBe("replay");
    expect(body.values).toMatchObject({ outcome: "ordered", items: ["stock:3", "price:42"] });
    expect(body.approximateKeys).toEqual(["items"]);
  });

  it("finds a graph given under another key by the name its checkpoints record", async () => {
    const { body } = await get("/api/threads/order-done/state", { graphs: { orders: graph } });
    expect(body.exactness).toBe("graph");
  });

  it("lists each effect with the idempotency key it was given, and the salvaged partial output", async () => {
    // A partial output as a process that stopped mid-task leaves it (what ctx.partial saves).
    const head = (await checkpointer.get("order-waiting"))!.checkpoint;
    await checkpointer.putPendingWrites({ threadId: "order-waiting", checkpointId: head.id }, [
      {
        taskId: head.next[0]!.id,
        idx: -5,
        channel: "__partial__",
        value: { value: { drafted: "3 in stock at 42" }, savedAt: Date.now() },
      },
    ]);
    const { body } = await get("/api/threads/order-waiting/effects");
    const effects = body.effects as { name: string; idempotencyKey: string; status: string }[];
    expect(effects.map((e) => [e.name, e.status])).toEqual([
      ["lookup-stock", "recorded"],
      ["quote-price", "recorded"],
    ]);
    expect(effects.map((e) => e.idempotencyKey)).toEqual(keys.slice(0, 2));
    expect(body.salvaged).toMatchObject([
      { node: "approve", value: { drafted: "3 in stock at 42" } },
    ]);
    expect(body.interrupts).toMatchObject([
      { node: "approve", interrupts: [{ value: { question: "Approve this order?" } }] },
    ]);
  });

  it("shows pending tool calls with their recorded results when it has the graph", async () => {
    const tools = buildToolGraph(checkpointer);
    await tools.invoke({}, { threadId: "weather" });
    const { body } = await get("/api/threads/weather/effects", { graphs: { tools } });
    expect(body.pendingToolCalls).toEqual([
      {
        id: "call-1",
        name: "weather",
        args: { city: "Pell" },
        channel: "conversation",
        recorded: { ok: true, result: { forecast: "fog" } },
      },
    ]);
    expect(body.effects).toMatchObject([{ name: "tool:call-1", toolCallId: "call-1" }]);
    const without = await get("/api/threads/weather/effects", { graphs: {} });
    expect(without.body.pendingToolCalls).toBeNull();
  });

  it("draws the graph with the waiting node marked, from the graph or from the stored shape", async () => {
    const { body } = await get("/api/threads/order-waiting/graph");
    expect(body.source).toBe("graphs");
    expect(body.current).toEqual(["approve"]);
    expect(body.mermaid).toContain('n1["approve"]');
    expect(body.mermaid).toContain("class n1 current");
    const stored = await get("/api/threads/order-waiting/graph", { graphs: {} });
    expect(stored.body.source).toBe("metadata");
    expect(stored.body.mermaid).toContain('n2["finish"]');
  });

  it("answers an interrupt in-process with the token, and the thread finishes", async () => {
    const { status, body } = await post("/api/threads/order-waiting/resume", {
      value: { approved: true },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ done: "in-process", values: { outcome: "ordered" } });
    const state = await graph.getState("order-waiting");
    expect(state!.next).toEqual([]);
  });

  it("accepts the token as a form field", async () => {
    const response = await appWith().request("/api/threads/order-waiting/resume", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ token: TOKEN, value: '{"approved":false}' }).toString(),
    });
    expect(response.status).toBe(200);
    expect((await graph.getState("order-waiting"))!.values.outcome).toBe("declined");
  });

  it("refuses a write without the token, with a wrong token, from another origin or read-only, writing nothing", async () => {
    const head = await headOf("order-waiting");
    const answer = { value: { approved: true } };
    const none = await post("/api/threads/order-waiting/resume", answer, { origin: ORIGIN });
    expect(none).toMatchObject({ status: 401, body: { error: { code: "TOKEN_REQUIRED" } } });
    const wrong = await post("/api/threads/order-waiting/resume", answer, {
      "x-waypoint-token": "guess",
    });
    expect(wrong.status).toBe(401);
    const foreign = await post("/api/threads/order-waiting/resume", answer, {
      "x-waypoint-token": TOKEN,
      origin: "http://evil.test",
    });
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: "ORIGIN_REFUSED" } } });
    const readOnly = await post("/api/threads/order-waiting/resume", answer, undefined, {
      readOnly: true,
    });
    expect(readOnly).toMatchObject({ status: 403, body: { error: { code: "READ_ONLY" } } });
    const noTokenConfigured = await post("/api/threads/order-waiting/resume", answer, undefined, {
      token: undefined,
    });
    expect(noTokenConfigured.status).toBe(401);
    expect(await headOf("order-waiting")).toBe(head);
    const info = await get("/api/info", { readOnly: true });
    expect(info.body.readOnly).toBe(true);
  });

  it("answers bad requests with the Waypoint error code and a fitting status", async () => {
    expect(await get("/api/threads/nobody/timeline")).toMatchObject({
      status: 404,
      body: { error: { code: "THREAD_NOT_FOUND" } },
    });
    expect(await get("/api/threads?status=sleeping")).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_ARGUMENT" } },
    });
    expect((await get(`/api/threads/${"x".repeat(600)}/state`)).status).toBe(400);
    expect((await get("/api/threads/order-done/state?checkpoint=nope")).body).toMatchObject({
      error: { code: "CHECKPOINT_NOT_FOUND" },
    });
    const head = await headOf("order-waiting");
    expect(await post("/api/threads/order-waiting/resume", "{not json")).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_ARGUMENT" } },
    });
    expect((await post("/api/threads/order-waiting/resume", {})).status).toBe(400);
    expect(await post("/api/threads/order-done/resume", { value: 1 })).toMatchObject({
      status: 409,
      body: { error: { code: "RUN_STATE" } },
    });
    expect((await post("/api/threads/order-waiting/state", { values: [] })).status).toBe(400);
    expect((await get("/api/nothing")).status).toBe(404);
    expect(await headOf("order-waiting")).toBe(head);
  });

  it("reaches a subgraph's namespace: its timeline, state and effects", async () => {
    const parent = buildParentGraph(checkpointer, keys);
    await parent.invoke({ request: "a boat" }, { threadId: "nested" });
    const { body } = await get("/api/threads/nested/timeline");
    const namespaces = body.namespaces as string[];
    expect(namespaces.length).toBe(2);
    const inner = namespaces.find((ns) => ns.startsWith("review:"))!;
    const child = await get(`/api/threads/nested/timeline?namespace=${encodeURIComponent(inner)}`);
    expect((child.body.rows as { writes: unknown[] }[]).length).toBeGreaterThan(1);
    const state = await get(`/api/threads/nested/state?namespace=${encodeURIComponent(inner)}`);
    expect(state.body.values).toMatchObject({ request: "a boat", items: ["stock:3", "price:42"] });
    const effects = await get(`/api/threads/nested/effects?namespace=${encodeURIComponent(inner)}`);
    expect((effects.body.effects as { name: string }[]).map((e) => e.name)).toEqual([
      "lookup-stock",
      "quote-price",
    ]);
    expect(
      (effects.body.effects as { idempotencyKey: string }[]).map((e) => e.idempotencyKey),
    ).toEqual(keys.slice(-2));
  });

  it("shows the key a Functional API task's inner effect was given (its record has a scope)", async () => {
    const given: string[] = [];
    const charge = task("charge", (who: string, ctx: EntrypointContext) =>
      ctx.effect("card", ({ idempotencyKey }) => {
        given.push(idempotencyKey);
        return `charged ${who}`;
      }),
    );
    const workflow = entrypoint({ name: "billing", checkpointer }, async (who: string, ctx) => {
      const receipt = await charge(who, ctx);
      interrupt("confirm?");
      return receipt;
    });
    await workflow.invoke("ann", { threadId: "billing" });
    const { body } = await get("/api/threads/billing/effects");
    const effects = body.effects as { name: string; scope?: string; idempotencyKey: string }[];
    const card = effects.find((effect) => effect.name === "card")!;
    expect(card.scope).toBe("0");
    expect(card.idempotencyKey).toBe(given[0]);
  });

  it("edits state as a node and forks from an older checkpoint", async () => {
    const edit = await post("/api/threads/order-waiting/state", {
      values: { decision: { approved: true, note: "by hand" } },
      asNode: "approve",
    });
    expect(edit.status).toBe(200);
    const state = await graph.getState("order-waiting");
    expect(state!.next).toEqual(["finish"]);
    const { body } = await get("/api/threads/order-done/timeline");
    const second = (body.rows as { id: string }[])[1]!.id;
    const forked = await post("/api/threads/order-done/fork", { checkpointId: second });
    expect(forked.status).toBe(200);
    const after = await get("/api/threads/order-done/timeline");
    const rows = after.body.rows as {
      id: string;
      depth: number;
      isHead: boolean;
      source: string;
    }[];
    expect(rows.length).toBe(5);
    expect(rows[rows.length - 1]).toMatchObject({ depth: 1, isHead: true, source: "fork" });
    const unknown = await post(
      "/api/threads/order-waiting/state",
      { values: { outcome: "x" } },
      undefined,
      { graphs: {} },
    );
    expect(unknown.status).toBe(400);
  });

  it("queues a run for workers when it has no graph, and lists, pauses, resumes and cancels runs", async () => {
    const queued = await post(
      "/api/threads/order-waiting/resume",
      { value: { approved: true } },
      undefined,
      {
        graphs: {},
      },
    );
    expect(queued).toMatchObject({
      status: 200,
      body: { done: "queued", run: { graph: "approval", status: "pending" } },
    });
    const runId = (queued.body.run as { id: string }).id;
    const list = await get("/api/runs?threadId=order-waiting");
    expect(list.body.runs).toMatchObject([
      { id: runId, status: "pending", attempts: 0, graphVersion: null },
    ]);
    expect((await post(`/api/runs/${runId}/pause`, {})).body).toMatchObject({
      run: { status: "paused" },
    });
    expect((await post(`/api/runs/${runId}/resume`, {})).body).toMatchObject({
      run: { status: "pending" },
    });
    expect((await post(`/api/runs/${runId}/cancel`, {})).body).toMatchObject({
      run: { status: "cancelled" },
    });
    expect(await post(`/api/runs/${runId}/resume`, {})).toMatchObject({
      status: 409,
      body: { error: { code: "RUN_STATE" } },
    });
    expect((await post(`/api/runs/${"0".repeat(8)}/cancel`, {})).status).toBe(404);
    expect((await post(`/api/runs/${runId}/explode`, {})).status).toBe(400);
    const run = await new Client({ checkpointer }).runs.get(runId);
    expect(run?.status).toBe("cancelled");
  });
});
