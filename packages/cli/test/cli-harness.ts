import { Readable } from "node:stream";
import { main } from "../src/main.js";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** When the first error text was written (Date.now()), or undefined. */
  readonly stderrAt: number | undefined;
  /** stdout parsed as the one JSON document --json prints. */
  json<T = Record<string, unknown>>(): T;
}

/** Runs `waypoint …` in-process, with buffers for streams. */
export async function cli(
  args: readonly string[],
  options: {
    readonly env?: Record<string, string>;
    readonly stdin?: string;
    readonly isTTY?: boolean;
    readonly signal?: AbortSignal;
    readonly onStdout?: (text: string) => void;
  } = {},
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  let stderrAt: number | undefined;
  const code = await main(args, {
    stdout: {
      write: (text: string) => {
        stdout += text;
        options.onStdout?.(stdout);
      },
    },
    stderr: {
      write: (text: string) => {
        stderrAt ??= Date.now();
        stderr += text;
      },
    },
    env: options.env ?? {},
    isTTY: options.isTTY ?? false,
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([options.stdin]) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return {
    code,
    stdout,
    stderr,
    stderrAt,
    json: <T>() => JSON.parse(stdout) as T,
  };
}
