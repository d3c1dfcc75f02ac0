import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Runs a command and returns its stdout; a failure's message carries its stderr. */
export async function run(command: string, args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, encoding: "utf8" });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail =
      typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : String(error);
    throw new Error(`${command} ${args.join(" ")} failed: ${detail}`, { cause: error });
  }
}

/** For 'exit' handlers, which cannot await. Failures are ignored. */
export function runSync(command: string, args: readonly string[], cwd?: string): void {
  spawnSync(command, args, { cwd, stdio: "ignore", timeout: 10_000 });
}
