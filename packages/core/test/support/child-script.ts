import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/**
 * A TypeScript script run as a child process (on the packages' sources), whose
 * stdout lines are collected, so a test can wait for a line and kill it there.
 */
export class ChildScript {
  readonly process: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  readonly exited: Promise<NodeJS.Signals | number | null>;
  private waiter: ((line: string | undefined) => void) | undefined;
  private match: (line: string) => boolean = () => false;
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
      if (this.match(line)) this.settle(line);
    });
    this.exited = new Promise((resolve) =>
      this.process.on("close", (code, signal) => {
        this.settle(undefined);
        resolve(signal ?? code);
      }),
    );
  }

  /** The first line that matches, or a failure if the process exits or stalls first. */
  async waitFor(match: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return seen;
    const timer = setTimeout(() => this.settle(undefined), timeoutMs);
    const line = await new Promise<string | undefined>((resolve) => {
      this.match = match;
      this.waiter = resolve;
    });
    clearTimeout(timer);
    if (line === undefined)
      throw new Error(
        `no matching line; stdout:\n${this.lines.join("\n")}\nstderr: ${this.stderr}`,
      );
    return line;
  }

  async kill(): Promise<void> {
    this.process.kill("SIGKILL");
    expect(await this.exited).toBe("SIGKILL");
  }

  private settle(line: string | undefined): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    this.match = () => false;
    waiter?.(line);
  }
}
