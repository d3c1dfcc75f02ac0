import { Command, CommanderError } from "commander";
import { registerDiff } from "./commands/diff.js";
import { registerHistory } from "./commands/history.js";
import { registerInspect } from "./commands/inspect.js";
import { registerRetention } from "./commands/retention.js";
import { registerRuns } from "./commands/runs.js";
import { registerShow } from "./commands/show.js";
import { registerThreads } from "./commands/threads.js";
import { registerTransfer } from "./commands/transfer.js";
import { UsageError, isWaypointError, type Io } from "./internal/io.js";

export type { Io } from "./internal/io.js";

/** Exit codes: success, a Waypoint error (its code printed), a usage error. */
export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

function program(io: Io): Command {
  const root = new Command("waypoint")
    .description("Look at the threads, runs and effects in a Waypoint store.")
    .version("0.1.0")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  registerThreads(root, io);
  registerShow(root, io);
  registerHistory(root, io);
  registerDiff(root, io);
  registerRuns(root, io);
  registerRetention(root, io);
  registerTransfer(root, io);
  registerInspect(root, io);
  // Subcommands inherit exitOverride and output only if set on each of them.
  const apply = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
      });
      apply(sub);
    }
  };
  apply(root);
  return root;
}

/**
 * Runs the `waypoint` command line (`argv` without node and the script) and
 * returns its exit code. bin.ts calls it with the process's streams; tests
 * call it in-process.
 */
export async function main(argv: readonly string[], given: Io): Promise<number> {
  const io: Io = { ...given, closing: [] };
  try {
    return await parse(argv, io);
  } finally {
    // After the error is printed: its store's client may take a moment to close.
    await Promise.all(io.closing ?? []);
  }
}

async function parse(argv: readonly string[], io: Io): Promise<number> {
  try {
    await program(io).parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end parsing through the same path, with exit code 0.
      if (error.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    if (isWaypointError(error)) {
      io.stderr.write(`error ${error.code}: ${error.message}\n`);
      return EXIT.error;
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`error: ${message}\n`);
    return EXIT.error;
  }
}
