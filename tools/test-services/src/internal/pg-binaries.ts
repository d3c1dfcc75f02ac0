import { join } from "node:path";
import { run, runSync } from "../run.js";

/** initdb and postgres refuse to run as root; as root we run them as the `postgres` OS user. */
export const runsAsRoot = process.getuid?.() === 0;

function asServerUser(command: string, args: readonly string[]): [string, string[]] {
  return runsAsRoot
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : [command, [...args]];
}

export async function runAsServerUser(
  command: string,
  args: readonly string[],
  cwd: string,
): Promise<string> {
  return run(...asServerUser(command, args), { cwd });
}

export function runAsServerUserSync(command: string, args: readonly string[], cwd: string): void {
  runSync(...asServerUser(command, args), cwd);
}

let binDir: Promise<string> | undefined;

/** The PostgreSQL binaries that `pg_config --bindir` points at (PostgreSQL 15 here). */
export async function postgresBinary(name: "initdb" | "pg_ctl"): Promise<string> {
  binDir ??= run("pg_config", ["--bindir"]).then(
    (stdout) => stdout.trim(),
    (error: unknown) => {
      binDir = undefined;
      throw new Error(
        "pg_config not found or failed: install PostgreSQL 15 (server and pg_config)",
        { cause: error },
      );
    },
  );
  return join(await binDir, name);
}

/** Quotes one word for the shell that pg_ctl runs postgres through (`pg_ctl -o`). */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
