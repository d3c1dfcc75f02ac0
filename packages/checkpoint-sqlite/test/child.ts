import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const WRITER = fileURLToPath(new URL("./fixtures/writer.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** A writer child process (fixtures/writer.ts) whose stdout lines are collected. */
export class Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private stderr = "";

  constructor(args: string[]) {
    this.process = spawn(
      process.execPath,
      ["--conditions=@waypoint/source", "--import", "tsx", WRITER, ...args],
      {
        cwd: ROOT,
      },
    );
    this.process.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.process.stdout }).on("line", (line) => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(line)) return true;
        waiter.resolve(line);
        return false;
      });
    });
    this.exited = new Promise((resolve) => this.process.on("exit", (code) => resolve(code)));
  }

  /** Resolves with the first line (already seen or still to come) that matches. */
  waitFor(match: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  send(line: string): void {
    this.process.stdin.write(`${line}\n`);
  }

  async finish(): Promise<void> {
    this.process.stdin.end();
    const code = await this.exited;
    if (code !== 0) throw new Error(`writer exited with ${code}; stderr: ${this.stderr}`);
  }
}
