import { Option, type Command } from "commander";
import { openStore, type OpenedStore } from "../store.js";
import { paintFor, toJson, type Paint } from "./format.js";
import { UsageError, type Io } from "./io.js";

/** The options every command takes. */
export interface CommonOptions {
  readonly store?: string;
  readonly schema?: string;
  readonly prefix?: string;
  readonly timeout?: number;
  readonly json?: boolean;
}

/** What a command's action works with: the open store and how to print. */
export interface Context {
  readonly io: Io;
  readonly store: OpenedStore;
  readonly json: boolean;
  readonly paint: Paint;
  /** Prints the JSON document (--json) or the human text. */
  emit(json: unknown, human: () => string): void;
}

export function positiveInteger(name: string) {
  return (text: string): number => {
    if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
      throw new UsageError(`${name} takes a positive integer, got ${JSON.stringify(text)}`);
    return Number(text);
  };
}

/** A subcommand with the store options and --json. */
export function leaf(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .option("--store <url>", "the store: sqlite:PATH, postgres://…, redis://… (or WAYPOINT_STORE)")
    .option("--schema <name>", "PostgreSQL schema (default waypoint)")
    .option("--prefix <prefix>", "Redis key prefix (default waypoint)")
    .addOption(
      new Option(
        "--timeout <ms>",
        "PostgreSQL and Redis: give up on an unreachable server after this long",
      ).argParser(positiveInteger("--timeout")),
    )
    .option("--json", "print one JSON document on stdout");
}

/** Opens the store the options name, runs `body`, and closes the store whatever happens. */
export async function withStore(
  io: Io,
  options: CommonOptions,
  body: (context: Context) => Promise<void>,
  storeOptions: { readonly create?: boolean } = {},
): Promise<void> {
  const url = options.store ?? io.env.WAYPOINT_STORE;
  if (url === undefined || url === "")
    throw new UsageError("no store: pass --store URL or set WAYPOINT_STORE");
  const store = await openStore(url, {
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
    ...storeOptions,
  });
  const json = options.json === true;
  const context: Context = {
    io,
    store,
    json,
    paint: paintFor(io.isTTY),
    emit(document, human) {
      io.stdout.write(json ? `${JSON.stringify(toJson(document), null, 2)}\n` : `${human()}\n`);
    },
  };
  try {
    await body(context);
  } catch (error) {
    if (io.closing === undefined) await store.close().catch(() => undefined);
    else io.closing.push(store.close().catch(() => undefined));
    throw error;
  }
  await store.close();
}
