import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** Children run from the repository root, where tsx and the workspace resolve. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface WaitOptions {
  /** Wait for this many matching lines (default 1). */
  readonly count?: number;
  readonly timeoutMs?: number;
}

/**
 * A TypeScript script run as a child process (on the packages' sources), whose
 * stdout lines are collected, so a test can wait for a line and kill it there
 * (crash tests), or talk to it over stdin.
 */
export class ChildScript {
  readonly process: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  readonly exited: Promise<NodeJS.Signals | number | null>;
  private waiter: (() => void) | undefined;
  /** Set once stdout has ended and the process is gone: no more lines will come. */
  private closed = false;
  private stderr = "";

  constructor(script: string, args: string[], env: Readonly<Record<string, string>> = {}) {
    this.process = spawn(
      process.execPath,
      ["--conditions=@waypoint/source", "--import", "tsx", script, ...args],
      { cwd: ROOT, env: { ...process.env, ...env } },
    );
    this.process.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.process.stdout }).on("line", (line) => {
      this.lines.push(line);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) =>
      this.process.on("close", (code, signal) => {
        this.closed = true;
        this.waiter?.();
        resolve(signal ?? code);
      }),
    );
  }

  /**
   * The `count`-th line that matches, as soon as it is printed; a failure if
   * the process exits or stalls first.
   */
  async waitFor(
    match: (line: string) => boolean,
    { count = 1, timeoutMs = 20_000 }: WaitOptions = {},
  ): Promise<string> {
    const found = () => this.lines.filter(match)[count - 1];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.waiter?.();
    }, timeoutMs);
    try {
      while (found() === undefined && !this.closed && !timedOut) {
        await new Promise<void>((resolve) => (this.waiter = resolve));
        this.waiter = undefined;
      }
    } finally {
      clearTimeout(timer);
    }
    const line = found();
    if (line === undefined)
      throw new Error(
        `no matching line; stdout:\n${this.lines.join("\n")}\nstderr: ${this.stderr}`,
      );
    return line;
  }

  send(line: string): void {
    this.process.stdin.write(`${line}\n`);
  }

  /** Closes its stdin and waits for a clean exit; fails with its stderr otherwise. */
  async finish(): Promise<void> {
    this.process.stdin.end();
    const code = await this.exited;
    if (code !== 0) throw new Error(`child exited with ${String(code)}; stderr: ${this.stderr}`);
  }

  async kill(): Promise<void> {
    this.process.kill("SIGKILL");
    expect(await this.exited).toBe("SIGKILL");
  }
}
