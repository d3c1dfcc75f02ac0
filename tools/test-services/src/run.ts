import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Where a command runs: its folder and, when given, its whole environment. */
export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs a command and returns its stdout; a failure's message carries the
 * exit code, stdout and stderr.
 */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      ...options,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: unknown; stderr?: unknown; code?: unknown };
    const output = [failed.stdout, failed.stderr]
      .filter((text): text is string => typeof text === "string" && text.trim() !== "")
      .map((text) => text.trim())
      .join("\n");
    const where = options.cwd === undefined ? "" : ` (in ${options.cwd})`;
    throw new Error(
      `${command} ${args.join(" ")}${where} failed with ${String(failed.code)}: ${output || String(error)}`,
      { cause: error },
    );
  }
}

/** For 'exit' handlers, which cannot await. Failures are ignored. */
export function runSync(command: string, args: readonly string[], cwd?: string): void {
  spawnSync(command, args, { cwd, stdio: "ignore", timeout: 10_000 });
}
