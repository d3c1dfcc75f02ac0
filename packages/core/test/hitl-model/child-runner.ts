/** Runs one op in a child process on the SQLite file, killed at a fault point (WAYPOINT_FAULTS=<point>=kill). */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChildScript } from "@waypoint/test-services";
import type { GraphName } from "./graphs.js";
import type { ChildOp } from "./protocol.js";

const CHILD = fileURLToPath(new URL("../fixtures/hitl-child.ts", import.meta.url));

export interface ChildOutcome {
  readonly killed: boolean;
  /** "done", or "error <name> <message>". */
  readonly line: string;
  /** Sink lines the child wrote. */
  readonly sinkLines: string[];
}

export class ChildRunner {
  kills = 0;
  runs = 0;
  constructor(
    readonly db: string,
    readonly dir: string,
  ) {}

  async run(threadId: string, graph: GraphName, op: ChildOp, point: string): Promise<ChildOutcome> {
    const sinkFile = join(this.dir, `sink-${threadId}.log`);
    const lines = () =>
      existsSync(sinkFile) ? readFileSync(sinkFile, "utf8").split("\n").filter(Boolean) : [];
    const seen = lines().length;
    this.runs += 1;
    const child = new ChildScript(CHILD, [this.db, sinkFile, threadId, graph, JSON.stringify(op)], {
      WAYPOINT_FAULTS: `${point}=kill`,
    });
    // A child that hangs must not stall the suite: it is killed, and the sequence fails.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">(
      (resolve) => (timer = setTimeout(() => resolve("timeout"), 60_000)),
    );
    const exit = await Promise.race([child.exited, timeout]);
    clearTimeout(timer);
    if (exit === "timeout") {
      child.process.kill("SIGKILL");
      throw new Error(`hitl child hung for 60 s; stdout:\n${child.lines.join("\n")}`);
    }
    const killed = exit === "SIGKILL";
    if (killed) this.kills += 1;
    const line = child.lines.find((l) => l === "done" || l.startsWith("error ")) ?? "";
    if (!killed && line === "")
      throw new Error(`hitl child exited with ${String(exit)} and printed nothing`);
    return { killed, line, sinkLines: lines().slice(seen) };
  }
}
