import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { InvalidArgumentError } from "@waypoint/checkpoint";

/** Paths SQLite opens without a file of their own: in memory, or a private temporary file. */
function isFilePath(path: string): boolean {
  return path !== ":memory:" && path !== "" && !path.startsWith("file:");
}

/**
 * Creates the database file, and its folder, if they do not exist: the file
 * with mode 0600, so checkpoints are readable by their owner only. SQLite
 * then creates the -wal and -shm files with the database file's mode. The
 * mode is given at creation (not through the umask, which is per process and
 * racy across threads); an existing file keeps its own.
 */
export function createDatabaseFile(path: string): void {
  if (!isFilePath(path)) return;
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw unusablePath(path, error);
  }
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST") return; // an existing file keeps its mode
    throw unusablePath(path, error);
  }
}

/**
 * The path cannot hold a database (a folder in it is a regular file, no
 * write permission, a read-only file system): the argument is wrong for this
 * host, and retrying will not help, so INVALID_ARGUMENT rather than the
 * retryable STORAGE_UNAVAILABLE.
 */
export function unusablePath(path: string, cause: unknown): InvalidArgumentError {
  const code = (cause as { code?: unknown }).code;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new InvalidArgumentError("database", `cannot create or open ${path}: ${detail}`, {
    path,
    reason: typeof code === "string" ? code : "unknown",
  });
}

/** SQLite's answers for a file it cannot open or write. */
export function isUnusableFile(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === "string" &&
    (code.startsWith("SQLITE_CANTOPEN") ||
      code.startsWith("SQLITE_READONLY") ||
      code === "SQLITE_PERM")
  );
}
