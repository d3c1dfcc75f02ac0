import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PAGES = 24;

/** `pnpm demo --crash`, as the CLI runs it: its stdout and the `result {json}` line it ends with. */
async function crashDemo(backend: string) {
  const child = spawn(
    process.execPath,
    [
      ...["--conditions=@waypoint/source", "--import", "tsx", "apps/research-agent/src/main.ts"],
      ...["--crash", "--backend", backend, "--pages", String(PAGES)],
    ],
    {
      cwd: ROOT,
      env: { ...process.env, PG_URL: inject("pgUrl"), REDIS_URL: inject("redisUrl") },
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const line = stdout.split("\n").find((l) => l.startsWith("result "));
  if (code !== 0 || line === undefined)
    throw new Error(`exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  return { stdout, result: JSON.parse(line.slice("result ".length)) as Record<string, unknown> };
}

describe("pnpm demo --crash: the research agent killed with SIGKILL three times", () => {
  it.each(["sqlite", "postgres", "redis"])(
    "%s: each restart finds the thread, each page is fetched once, one email, the uninterrupted report",
    async (backend) => {
      const { stdout, result } = await crashDemo(backend);
      expect(result).toMatchObject({
        backend,
        kills: 3,
        pagesFetched: PAGES,
        pagesFetchedOnce: PAGES,
        emailsSent: 1,
        reportMatches: true,
        emailMatches: true,
        ok: true,
      });
      // Every restarted worker found the unfinished thread by itself and went on from a checkpoint.
      expect(result.resumedFrom).toEqual([
        expect.any(Number),
        expect.any(Number),
        expect.any(Number),
      ]);
      expect(stdout.match(/found unfinished thread/g)).toHaveLength(3);
      expect(result.reportSha256).toBe(result.expectedSha256);
    },
  );
});
