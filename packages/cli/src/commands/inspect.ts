import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Checkpointer } from "@waypoint/checkpoint";
import type { CompiledGraph } from "@waypoint/core";
import { Option, type Command } from "commander";
import { leaf, positiveInteger, withStore, type CommonOptions } from "../internal/context.js";
import { UsageError, type Io } from "../internal/io.js";

/** `@waypoint/inspector`'s entry point, as the CLI calls it. */
export interface InspectorOptions {
  readonly checkpointer: Checkpointer;
  readonly host?: string;
  readonly port?: number;
  readonly readOnly?: boolean;
  readonly token?: string;
  readonly graphs?: Readonly<Record<string, CompiledGraph<never>>>;
}
export interface RunningInspector {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}
type StartInspector = (options: InspectorOptions) => Promise<RunningInspector>;

interface InspectOptions extends CommonOptions {
  readonly port?: number;
  readonly host?: string;
  readonly readOnly?: boolean;
  readonly token?: string;
  readonly graphs?: string;
}

function isCompiledGraph(value: unknown): value is CompiledGraph<never> {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { invoke?: unknown }).invoke === "function" &&
    typeof (value as { getState?: unknown }).getState === "function"
  );
}

/** The compiled graphs a module exports, by export name. */
export async function loadGraphs(module: string): Promise<Record<string, CompiledGraph<never>>> {
  const exports = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>;
  const graphs = Object.fromEntries(
    Object.entries(exports).filter((entry): entry is [string, CompiledGraph<never>] =>
      isCompiledGraph(entry[1]),
    ),
  );
  if (Object.keys(graphs).length === 0)
    throw new UsageError(`--graphs ${module} exports no compiled graph`);
  return graphs;
}

async function loadInspector(): Promise<StartInspector> {
  const inspector = (await import("@waypoint/inspector")) as unknown as {
    startInspector?: StartInspector;
  };
  if (typeof inspector.startInspector !== "function")
    throw new UsageError("this build of @waypoint/inspector has no startInspector");
  return inspector.startInspector;
}

/** Resolves on SIGINT, SIGTERM or the io's abort signal. */
function untilStopped(io: Io): Promise<string> {
  return new Promise((done) => {
    const stop = (reason: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      io.signal?.removeEventListener("abort", onAbort);
      done(reason);
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    const onAbort = () => stop("abort");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    if (io.signal?.aborted) stop("abort");
    else io.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function registerInspect(program: Command, io: Io): void {
  leaf(program, "inspect", "open the inspector web page on the store")
    .addOption(
      new Option("--port <n>", "port to listen on (default: a free one)").argParser((text) => {
        if (text === "0") return 0;
        const port = positiveInteger("--port")(text);
        if (port > 65_535) throw new UsageError(`--port takes 0 to 65535, got ${text}`);
        return port;
      }),
    )
    .option("--host <host>", "address to listen on (default 127.0.0.1)")
    .option("--read-only", "no actions: the page and the API only read")
    .option("--token <token>", "the token that write requests must carry (default: a random one)")
    .option("--graphs <module>", "a module whose exported compiled graphs the page may use")
    .action((options: InspectOptions) =>
      withStore(io, options, async (context) => {
        const startInspector = await loadInspector();
        const graphs = options.graphs === undefined ? undefined : await loadGraphs(options.graphs);
        const inspector = await startInspector({
          checkpointer: context.store.checkpointer,
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.port === undefined ? {} : { port: options.port }),
          readOnly: options.readOnly === true,
          ...(options.token === undefined ? {} : { token: options.token }),
          ...(graphs === undefined ? {} : { graphs }),
        });
        const link = `${inspector.url}${inspector.url.includes("?") ? "&" : "?"}token=${encodeURIComponent(inspector.token)}`;
        const readOnly = options.readOnly === true;
        context.emit(
          {
            url: inspector.url,
            token: inspector.token,
            link,
            readOnly,
            store: context.store.label,
          },
          () =>
            `Waypoint inspector on ${context.store.label}${readOnly ? " (read-only)" : ""}\n` +
            `  ${context.paint.bold(link)}\n` +
            `Press Ctrl+C to stop.`,
        );
        try {
          await untilStopped(io);
        } finally {
          await inspector.close();
        }
      }),
    );
}
