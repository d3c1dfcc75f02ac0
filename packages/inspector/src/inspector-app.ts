import { isValidId, type Checkpointer } from "@waypoint/checkpoint";
import { Client, type CompiledGraph, type StateDefinition } from "@waypoint/core";
import { Hono, type Context } from "hono";
import { answerInterrupt, editState, fork } from "./internal/actions.js";
import { ApiError, errorResponse, invalid } from "./internal/api-error.js";
import { effectsOf } from "./internal/effects-ledger.js";
import { graphViewOf } from "./internal/graph-view.js";
import { toJson } from "./internal/json-value.js";
import { addPageRoutes } from "./internal/page-files.js";
import { diffOf, stateAt } from "./internal/state-view.js";
import { createStoreReader } from "./internal/store-reader.js";
import { listThreadRows, threadDetail } from "./internal/thread-list.js";
import { timelineOf } from "./internal/timeline.js";
import { checkHost, readWrite } from "./internal/write-guard.js";

/**
 * Options of `createInspectorApp`: the store to read, the graphs that wrote it,
 * and what the page and the API may change.
 *
 * @experimental
 */
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

/**
 * The inspector's JSON API under /api/, and its page at /.
 *
 * @experimental
 */
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
    checkHost(c.req.header("host"), options.allowedHosts);
    await next();
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    c.header("x-frame-options", "DENY");
  });

  app.get("/api/info", (c) =>
    c.json({ readOnly, graphs: Object.keys(graphs), runs: checkpointer.runs !== undefined }),
  );

  app.get("/api/threads", async (c) => c.json(await listThreadRows(reader, c.req.query())));

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

  app.get("/api/threads/:threadId", async (c) =>
    c.json({ ...(await threadDetail(reader, threadId(c))), readOnly }),
  );
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

  // Writes: each is checked (read-only, origin, token) before its body is read.
  const write = (c: Context) => readWrite(c, { readOnly, token });

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

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw invalid(`${key} must be a string`);
  return value;
}
