import {
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  THREAD_STATUSES,
  isValidId,
  type Checkpointer,
  type PendingWrite,
  type ThreadStatus,
  type ThreadSummary,
} from "@waypoint/checkpoint";
import { Client, type CompiledGraph, type StateDefinition } from "@waypoint/core";
import { Hono, type Context } from "hono";
import { answerInterrupt, editState, fork } from "./internal/actions.js";
import { ApiError, errorResponse, invalid } from "./internal/api-error.js";
import { effectsOf } from "./internal/effects-ledger.js";
import { graphViewOf } from "./internal/graph-view.js";
import { toJson } from "./internal/json-value.js";
import { addPageRoutes } from "./internal/page-files.js";
import { diffOf, stateAt } from "./internal/state-view.js";
import { createStoreReader, graphNameOf } from "./internal/store-reader.js";
import { timelineOf } from "./internal/timeline.js";
import { checkWrite } from "./internal/write-guard.js";

export interface InspectorOptions {
  readonly checkpointer: Checkpointer;
  /** Compiled graphs by the name their checkpoints record (`metadata.graph.name`). */
  readonly graphs?: Readonly<Record<string, CompiledGraph<StateDefinition>>>;
  /** Removes every action: the page shows none and the API refuses writes with 403. */
  readonly readOnly?: boolean;
  /** The token every write must carry. Without one, every write is refused. */
  readonly token?: string;
  /**
   * Host names (without port) a request's Host header may name; any when
   * omitted. startInspector sets the loopback names when it listens on
   * loopback, so that a page on another domain that resolves to 127.0.0.1
   * (DNS rebinding) cannot read the API.
   */
  readonly allowedHosts?: readonly string[];
}

/** A thread as the thread list shows it. */
export interface ThreadRow {
  readonly threadId: string;
  readonly headId: string;
  readonly step: number;
  readonly updatedAt: string;
  readonly status: ThreadStatus;
  readonly graph: string | null;
  readonly graphVersion: string | number | null;
}

const MAX_SCANNED = 5000;

/** The inspector's JSON API under /api/, and its page at /. */
export function createInspectorApp(options: InspectorOptions): Hono {
  const { checkpointer, readOnly = false, token } = options;
  const graphs = options.graphs ?? {};
  const reader = createStoreReader(checkpointer, graphs);
  const client = new Client({ checkpointer, graphs });
  const app = new Hono();

  app.onError((error, c) => {
    const { status, body } = errorResponse(error);
    return c.json(body, status as 400);
  });
  app.use("*", async (c, next) => {
    if (options.allowedHosts !== undefined) {
      const host = c.req.header("host") ?? "";
      const name = host.startsWith("[")
        ? host.slice(0, host.indexOf("]") + 1)
        : host.split(":")[0]!;
      if (!options.allowedHosts.includes(name.toLowerCase())) {
        throw new ApiError(403, "ORIGIN_REFUSED", `Requests for host "${host}" are refused.`);
      }
    }
    await next();
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    c.header("x-frame-options", "DENY");
  });

  app.get("/api/info", (c) =>
    c.json({ readOnly, graphs: Object.keys(graphs), runs: checkpointer.runs !== undefined }),
  );

  app.get("/api/threads", async (c) => {
    const status = c.req.query("status");
    if (status !== undefined && !THREAD_STATUSES.includes(status as ThreadStatus)) {
      throw invalid(`status must be one of ${THREAD_STATUSES.join(", ")}`);
    }
    const q = c.req.query("q")?.trim().toLowerCase() ?? "";
    const limit = Number(c.req.query("limit") ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw invalid("limit must be an integer from 1 to 1000");
    }
    const found: ThreadSummary[] = [];
    let after = c.req.query("after");
    let scanned = 0;
    let nextCursor: string | null;
    // The search filters by thread id, so it may read several pages of the store.
    do {
      const page = await checkpointer.listThreads({
        limit: q === "" ? limit : 1000,
        ...(after ? { after } : {}),
        ...(status ? { status: status as ThreadStatus } : {}),
      });
      scanned += page.threads.length;
      for (const thread of page.threads) {
        if (found.length === limit) break;
        if (thread.threadId.toLowerCase().includes(q)) found.push(thread);
      }
      // Thread ids are the cursor (pages go by thread id).
      nextCursor =
        q !== "" && found.length === limit ? found[found.length - 1]!.threadId : page.nextCursor;
      after = page.nextCursor ?? undefined;
    } while (found.length < limit && after !== undefined && q !== "" && scanned < MAX_SCANNED);
    const threads = await Promise.all(found.map((thread) => threadRow(thread)));
    return c.json({ threads, nextCursor });
  });

  async function threadRow(thread: ThreadSummary): Promise<ThreadRow> {
    const headers = [];
    for await (const header of checkpointer.list(thread.threadId, { limit: 1 }))
      headers.push(header);
    const graph = headers[0]?.metadata.graph as { version?: string | number } | undefined;
    return {
      threadId: thread.threadId,
      headId: thread.headId,
      step: thread.step,
      updatedAt: thread.updatedAt.toISOString(),
      status: thread.status,
      graph: graphNameOf(headers),
      graphVersion: graph?.version ?? null,
    };
  }

  const threadId = (c: Context) => {
    const id = c.req.param("threadId") ?? "";
    if (!isValidId(id)) throw invalid(`"${id}" is not a valid thread id`);
    return id;
  };
  const namespace = (c: Context) => c.req.query("namespace") ?? "";
  const checkpoint = (c: Context, name: string) => {
    const id = c.req.query(name);
    if (id !== undefined && !isValidId(id))
      throw invalid(`${name} "${id}" is not a valid checkpoint id`);
    return id === "" ? undefined : id;
  };

  app.get("/api/threads/:threadId", async (c) => {
    const id = threadId(c);
    const headers = await reader.headers(id);
    const head = headers[headers.length - 1]!;
    const loaded = await reader.load(id, head.id);
    const { name, graph } = reader.graphFor(headers);
    const identity = head.metadata.graph as { version?: string | number } | undefined;
    return c.json({
      threadId: id,
      headId: head.id,
      step: head.step,
      updatedAt: head.createdAt.toISOString(),
      status: deriveStatus(head.next.length, loaded.pendingWrites),
      graph: name,
      graphVersion: identity?.version ?? null,
      hasGraph: graph !== undefined,
      readOnly,
    });
  });
  app.get("/api/threads/:threadId/timeline", async (c) =>
    c.json(await timelineOf(reader, threadId(c), namespace(c))),
  );
  app.get("/api/threads/:threadId/state", async (c) =>
    c.json(await stateAt(reader, threadId(c), checkpoint(c, "checkpoint"), namespace(c))),
  );
  app.get("/api/threads/:threadId/diff", async (c) =>
    c.json(
      await diffOf(reader, threadId(c), checkpoint(c, "from"), checkpoint(c, "to"), namespace(c)),
    ),
  );
  app.get("/api/threads/:threadId/effects", async (c) =>
    c.json(await effectsOf(reader, threadId(c), namespace(c))),
  );
  app.get("/api/threads/:threadId/graph", async (c) =>
    c.json(await graphViewOf(reader, threadId(c))),
  );

  app.get("/api/runs", async (c) => {
    const id = c.req.query("threadId");
    if (id !== undefined && !isValidId(id)) throw invalid(`"${id}" is not a valid thread id`);
    const runs = await client.runs.list({ ...(id ? { threadId: id } : {}), limit: 200 });
    const withVersions = await Promise.all(runs.map((run) => client.runs.get(run.id)));
    return c.json({
      runs: withVersions.filter((run) => run !== undefined).map((run) => toJson(run)),
    });
  });

  // Writes: each goes through checkWrite before it reads its body.
  const write = async (c: Context): Promise<Record<string, unknown>> => {
    const type = c.req.header("content-type") ?? "";
    let body: Record<string, unknown> = {};
    let formToken: string | undefined;
    if (
      type.startsWith("application/x-www-form-urlencoded") ||
      type.startsWith("multipart/form-data")
    ) {
      const form = await c.req.parseBody();
      formToken = typeof form.token === "string" ? form.token : undefined;
      checkWrite(c, { readOnly, token }, formToken);
      for (const [key, value] of Object.entries(form)) {
        if (key !== "token" && typeof value === "string") body[key] = parseJsonField(key, value);
      }
      return body;
    }
    checkWrite(c, { readOnly, token }, undefined);
    const text = await c.req.text();
    if (text.trim() === "") return body;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw invalid("the request body is not valid JSON");
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw invalid("the request body must be a JSON object");
    }
    return body;
  };

  app.post("/api/threads/:threadId/resume", async (c) => {
    const body = await write(c);
    if (!("value" in body)) throw invalid("give the answer as { value: <JSON> }");
    return c.json(await answerInterrupt(reader, threadId(c), body.value));
  });
  app.post("/api/threads/:threadId/state", async (c) => {
    const body = await write(c);
    const asNode = optionalString(body, "asNode");
    const from = optionalString(body, "checkpointId");
    return c.json(
      await editState(reader, threadId(c), {
        values: body.values,
        ...(asNode ? { asNode } : {}),
        ...(from ? { checkpointId: from } : {}),
      }),
    );
  });
  app.post("/api/threads/:threadId/fork", async (c) => {
    const body = await write(c);
    const from = optionalString(body, "checkpointId");
    if (from === undefined) throw invalid("give the checkpoint to fork from as { checkpointId }");
    return c.json(await fork(reader, threadId(c), from));
  });
  app.post("/api/runs/:runId/:action", async (c) => {
    const action = c.req.param("action");
    if (action !== "cancel" && action !== "pause" && action !== "resume") {
      throw invalid(`unknown run action "${action}" (cancel, pause, resume)`);
    }
    await write(c);
    const runId = c.req.param("runId");
    if (!isValidId(runId)) throw invalid(`"${runId}" is not a valid run id`);
    return c.json({ run: toJson(await client.runs[action](runId)) });
  });

  app.all("/api/*", (c) => {
    throw new ApiError(404, "NOT_FOUND", `No API route ${c.req.method} ${c.req.path}`);
  });
  addPageRoutes(app);
  return app;
}

/** The status rule of listThreads (packages/checkpoint/src/threads.ts), for one thread. */
function deriveStatus(planned: number, pending: readonly PendingWrite[]): ThreadStatus {
  if (planned === 0) return "finished";
  if (pending.some((write) => write.channel === ERROR_CHANNEL)) return "failed";
  return pending.some((write) => write.channel === INTERRUPT_CHANNEL) ? "interrupted" : "pending";
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw invalid(`${key} must be a string`);
  return value;
}

/** A form field holding JSON (the interrupt answer, the state edit); plain text otherwise. */
function parseJsonField(key: string, value: string): unknown {
  if (key !== "value" && key !== "values") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw invalid(`${key} is not valid JSON`);
  }
}
