import { WaypointError } from "@waypoint/checkpoint";

/** Where a command reads and writes: the process's streams in `bin.ts`, buffers in tests. */
export interface Io {
  readonly stdout: {
    /** Writes the command's output (what a script pipes on). */
    write(text: string): unknown;
  };
  readonly stderr: {
    /** Writes errors and the command-line parser's messages. */
    write(text: string): unknown;
  };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Colour and terminal-only touches only when true. */
  readonly isTTY: boolean;
  /** What `import` reads; process.stdin when omitted. */
  readonly stdin?: AsyncIterable<string | Buffer>;
  /** Stops a long-running command (`inspect`) besides SIGINT and SIGTERM. */
  readonly signal?: AbortSignal;
  /**
   * Closes of stores whose command failed, for main() to wait for after it
   * printed the error (closing a client of an unreachable server takes a while).
   */
  readonly closing?: Promise<void>[];
}

/** A mistake in the command line: exit code 2, with the message and a hint. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit 1: an error of Waypoint's, printed with its code. */
export function isWaypointError(error: unknown): error is WaypointError {
  return error instanceof WaypointError;
}
