import { readFile } from "node:fs/promises";
import type { ThreadExport } from "@waypoint/checkpoint";
import type { Command } from "commander";
import { leaf, withStore, type CommonOptions } from "../internal/context.js";
import { UsageError, type Io } from "../internal/io.js";

async function readAll(input: AsyncIterable<string | Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

export function registerTransfer(program: Command, io: Io): void {
  leaf(program, "export", "print a thread, with its history and pending writes, as JSON")
    .argument("<thread>", "thread id")
    .action((threadId: string, options: CommonOptions) =>
      withStore(io, options, async (context) => {
        const data = await context.store.checkpointer.exportThread(threadId);
        // The export is JSON already: printed as is, with or without --json.
        io.stdout.write(`${JSON.stringify(data)}\n`);
      }),
    );
  leaf(program, "import", "write a thread exported by `waypoint export` (from stdin or a file)")
    .argument("[file]", "the export (default: stdin)")
    .action((file: string | undefined, options: CommonOptions) => {
      return withStore(
        io,
        options,
        async (context) => {
          const text =
            file === undefined || file === "-"
              ? await readAll(io.stdin ?? process.stdin)
              : await readFile(file, "utf8");
          let data: unknown;
          try {
            data = JSON.parse(text);
          } catch (error) {
            throw new UsageError(
              `import reads the JSON that \`waypoint export\` prints; this is not JSON (${(error as Error).message})`,
            );
          }
          // The checkpointer validates every record before it writes anything.
          await context.store.checkpointer.importThread(data as ThreadExport);
          const imported = data as ThreadExport;
          context.emit(
            { threadId: imported.threadId, checkpoints: imported.checkpoints.length },
            () =>
              `Imported thread ${imported.threadId} (${imported.checkpoints.length} checkpoint(s)).`,
          );
        },
        { create: true },
      );
    });
  leaf(program, "copy", "copy a thread, with its history and pending writes, to a new thread id")
    .argument("<from>", "thread to copy")
    .argument("<to>", "new thread id (must have no checkpoints)")
    .action((from: string, to: string, options: CommonOptions) =>
      withStore(io, options, async (context) => {
        await context.store.checkpointer.copyThread(from, to);
        context.emit({ from, to }, () => `Copied thread ${from} to ${to}.`);
      }),
    );
}
