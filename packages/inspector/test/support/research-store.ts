import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(import.meta.dirname, "../../../..");

/**
 * Fills a SQLite store the way `pnpm demo` does: runs the research agent's
 * entry (apps/research-agent) in a child process, with `.waypoint/` under
 * `directory`. Returns the database file and the thread it wrote.
 */
export async function runResearchAgent(
  directory: string,
  pages: number,
): Promise<{ file: string; threadId: string; output: string }> {
  const { stdout } = await promisify(execFile)(
    join(ROOT, "node_modules/.bin/tsx"),
    [
      "--conditions=@waypoint/source",
      join(ROOT, "apps/research-agent/src/main.ts"),
      "--backend",
      "sqlite",
      "--pages",
      String(pages),
    ],
    { cwd: join(ROOT, "apps/research-agent"), env: { ...process.env, INIT_CWD: directory } },
  );
  const threadId = /thread (research-[0-9a-f]+)/.exec(stdout)?.[1];
  if (threadId === undefined) throw new Error(`The research agent printed no thread:\n${stdout}`);
  return { file: join(directory, ".waypoint", "research-agent.db"), threadId, output: stdout };
}
