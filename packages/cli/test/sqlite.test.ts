import { execFile } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { SCHEMA_VERSION, SqliteCheckpointer } from "@waypoint/checkpoint-sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./cli-harness.js";
import { runCliSuite } from "./cli-suite.js";
import { fillStore } from "./fill-store.js";

const dir = mkdtempSync(join(tmpdir(), "waypoint-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `store-${(files += 1)}.db`);

runCliSuite({
  name: "SQLite",
  create: async () => {
    const file = newFile();
    return { args: ["--store", `sqlite:${file}`], checkpointer: new SqliteCheckpointer(file) };
  },
});

describe("waypoint CLI: store URLs, usage errors and SQLite files", () => {
  it("an unknown store URL is a usage error that lists the forms", async () => {
    const result = await cli(["threads", "--store", "mysql://localhost/x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: unknown store "mysql://localhost/x"');
    expect(result.stderr).toContain("sqlite:PATH");
    expect(result.stderr).toContain("postgres://");
    expect(result.stderr).toContain("redis://");
  });

  it("takes the store from WAYPOINT_STORE, a bare .db path, and refuses a missing one", async () => {
    const file = newFile();
    const checkpointer = new SqliteCheckpointer(file);
    await fillStore(checkpointer);
    await checkpointer.close();
    const fromEnv = await cli(["threads", "--json"], { env: { WAYPOINT_STORE: `sqlite:${file}` } });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.json<{ threads: unknown[] }>().threads).toHaveLength(3);
    const bare = await cli(["threads", "--json", "--store", file]);
    expect(bare.json<{ threads: unknown[] }>().threads).toHaveLength(3);
    const none = await cli(["threads"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("error: no store: pass --store URL or set WAYPOINT_STORE\n");
    const typo = await cli(["threads", "--store", `sqlite:${file}.typo`]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("no SQLite database at");
    const schema = await cli(["threads", "--store", `sqlite:${file}`, "--schema", "x"]);
    expect(schema.code).toBe(2);
    expect(schema.stderr).toContain("--schema is for PostgreSQL stores");
  });

  it("a database of a newer schema is UNSUPPORTED_FORMAT_VERSION; a damaged file is DATABASE_CORRUPT", async () => {
    const file = newFile();
    await new SqliteCheckpointer(file).close();
    // SQLite keeps user_version, the schema version, at bytes 60-63 of the file's header.
    const header = Buffer.alloc(4);
    header.writeUInt32BE(SCHEMA_VERSION + 1);
    const fd = openSync(file, "r+");
    writeSync(fd, header, 0, 4, 60);
    const newer = await cli(["threads", "--store", `sqlite:${file}`]);
    expect(newer.code).toBe(1);
    expect(newer.stderr).toMatch(
      new RegExp(`^error UNSUPPORTED_FORMAT_VERSION: .* has format version ${SCHEMA_VERSION + 1}`),
    );
    const junk = newFile();
    writeFileSync(junk, "not a database ".repeat(40));
    const damaged = await cli(["threads", "--store", junk]);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/^error DATABASE_CORRUPT: /);
  });

  it("commander's own errors and bad option values exit 2; --help exits 0", async () => {
    const file = newFile();
    await new SqliteCheckpointer(file).close();
    const store = ["--store", `sqlite:${file}`];
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["threads", "--bogus", ...store], /unknown option '--bogus'/],
      [["show", ...store], /missing required argument 'thread'/],
      [["diff", "t", "a", ...store], /missing required argument 'checkpointB'/],
      [["threads", "--limit", "0", ...store], /--limit takes a positive integer/],
      [["threads", "--status", "sleeping", ...store], /--status takes finished, interrupted/],
      [["threads", "--metadata", "novalue", ...store], /--metadata takes key=value/],
      [["runs", "list", "--status", "done", ...store], /--status takes pending, running/],
      [["prune", ...store], /prune needs --keep N, --older-than DURATION or both/],
      [["prune", "--older-than", "7 days", ...store], /--older-than takes a duration/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
    }
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const command of [
      "threads",
      "show",
      "history",
      "diff",
      "runs",
      "prune",
      "sweep",
      "export",
      "import",
      "copy",
      "inspect",
    ])
      expect(help.stdout).toContain(command);
  });

  it("colours only on a TTY", async () => {
    const file = newFile();
    const checkpointer = new SqliteCheckpointer(file);
    await fillStore(checkpointer);
    await checkpointer.close();
    const tty = await cli(["threads", "--store", file], { isTTY: true });
    expect(tty.stdout).toContain("\u001b[33minterrupted\u001b[39m");
    expect(tty.stdout).toMatch(/THREAD\s+STATUS\s+STEP/);
    const sweep = await cli(["sweep", "--store", file]);
    expect(sweep.stdout).toBe("Nothing to sweep: the sqlite store keeps no thread TTLs.\n");
  });
});

describe("the waypoint bin in a child process", () => {
  const root = resolve(import.meta.dirname, "../../..");
  const run = (args: string[]) =>
    promisify(execFile)(
      "npx",
      ["tsx", "--conditions=@waypoint/source", "packages/cli/src/bin.ts", ...args],
      { cwd: root, env: { ...process.env, WAYPOINT_STORE: "" } },
    ).then(
      (out) => ({ code: 0, ...out }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  it("exits 0, 1 and 2 as main returns, and starts with a node shebang", async () => {
    expect(readFileSync(resolve(import.meta.dirname, "../src/bin.ts"), "utf8")).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
    const file = newFile();
    const checkpointer = new SqliteCheckpointer(file);
    await fillStore(checkpointer);
    await checkpointer.close();
    const [ok, missing, usage] = await Promise.all([
      run(["threads", "--store", `sqlite:${file}`, "--json"]),
      run(["show", "nope", "--store", `sqlite:${file}`]),
      run(["threads", "--store", "ftp://x"]),
    ]);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as { threads: unknown[] }).threads).toHaveLength(3);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("error THREAD_NOT_FOUND");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown store "ftp://x"');
  }, 30_000);
});

const inspector = (await import("@waypoint/inspector")) as { startInspector?: unknown };

describe("waypoint inspect", () => {
  // Until @waypoint/inspector exports startInspector (built alongside), there is nothing to start.
  it.skipIf(typeof inspector.startInspector !== "function")(
    "prints the URL with its token, serves the page, and stops on abort",
    async () => {
      const file = newFile();
      const checkpointer = new SqliteCheckpointer(file);
      await fillStore(checkpointer);
      await checkpointer.close();
      const stop = new AbortController();
      let printed: (text: string) => void = () => undefined;
      const started = new Promise<string>((resolve) => (printed = resolve));
      const running = cli(["inspect", "--store", file, "--port", "0", "--read-only", "--json"], {
        signal: stop.signal,
        onStdout: printed,
      });
      const shown = JSON.parse(await started) as {
        url: string;
        token: string;
        link: string;
        readOnly: boolean;
      };
      expect(shown.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      expect(shown.link).toContain(`token=${encodeURIComponent(shown.token)}`);
      expect(shown.readOnly).toBe(true);
      const threads = await fetch(new URL("/api/threads", shown.url));
      expect(threads.status).toBe(200);
      expect(JSON.stringify(await threads.json())).toContain("t-interrupted");
      stop.abort();
      expect((await running).code).toBe(0);
      await expect(fetch(new URL("/api/threads", shown.url))).rejects.toThrow();
    },
  );
});
