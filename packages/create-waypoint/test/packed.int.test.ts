/**
 * The published shape, tested: packs create-waypoint and the `@waypoint/*`
 * packages its template needs with `pnpm pack`, runs the packed starter in a
 * folder outside the workspace, installs the tarballs there (no workspace
 * links), and runs the new project's own typecheck, tests and start script.
 */
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { afterAll, expect, it } from "vitest";
import { run } from "@waypoint/test-services";
import {
  builtTargets,
  pack,
  readManifest,
  repoRoot,
  withWorkspaceDependencies,
  workspacePackages,
} from "./workspace-packages.js";

const packages = workspacePackages();
const template = readManifest(join(import.meta.dirname, "..", "template", "package.json"));
const needed = withWorkspaceDependencies(
  ["create-waypoint", ...Object.keys(template.dependencies ?? {})],
  packages,
);

const scratch = mkdtempSync(join(tmpdir(), "waypoint-starter-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const isInside = (folder: string, path: string) => {
  const rest = relative(folder, path);
  return rest !== "" && !rest.startsWith("..") && !isAbsolute(rest);
};

/** The environment of the project's commands: none of this workspace's pnpm or vitest settings. */
function projectEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^(npm_|pnpm_|VITEST|INIT_CWD$|NODE_OPTIONS$|FORCE_COLOR$)/i.test(key)) env[key] = value;
  env.NO_COLOR = "1";
  // better-sqlite3 may have to build against this Node's headers (scripts/setup.sh does the same).
  env.npm_config_nodedir = dirname(dirname(process.execPath));
  return env;
}

it("scaffolds my-agent from the packed starter, installs the tarballs, and its tests and start pass", async () => {
  expect(isInside(repoRoot, scratch), `${scratch} is inside the workspace`).toBe(false);

  // `pnpm verify` builds before the tests; a bare `pnpm test:int` may not have.
  const unbuilt = needed.filter((name) =>
    builtTargets(packages.get(name)!).some((file) => !existsSync(file)),
  );
  if (unbuilt.length > 0)
    await run(
      "pnpm",
      [
        "exec",
        "turbo",
        "run",
        "build",
        "--output-logs=errors-only",
        ...needed.map((n) => `--filter=${n}`),
      ],
      { cwd: repoRoot },
    );

  const tarballs = new Map<string, string>();
  await Promise.all(
    needed.map(async (name) => {
      const destination = join(scratch, "tarballs", name.replace("/", "+"));
      tarballs.set(name, await pack(packages.get(name)!.directory, destination));
    }),
  );

  const env = projectEnv();
  const starter = `file:${tarballs.get("create-waypoint")!}`;
  const created = await run("pnpm", ["dlx", starter, "my-agent"], {
    cwd: scratch,
    // dlx installs the starter in its cache: this one goes away with the scratch folder.
    env: { ...env, npm_config_cache_dir: join(scratch, "dlx-cache") },
  });
  expect(created).toContain("Created my-agent");
  const project = join(scratch, "my-agent");

  // The `@waypoint/*` packages from the tarballs, also where one depends on another.
  const manifestPath = join(project, "package.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    dependencies: Record<string, string>;
    pnpm: { overrides?: Record<string, string> };
  };
  const version = packages.get("@waypoint/core")!.manifest.version;
  expect(manifest.dependencies["@waypoint/core"]).toBe(`^${version}`);
  const fromTarball = Object.fromEntries(
    [...tarballs]
      .filter(([name]) => name.startsWith("@waypoint/"))
      .map(([n, t]) => [n, `file:${t}`]),
  );
  for (const name of Object.keys(manifest.dependencies))
    if (name.startsWith("@waypoint/")) manifest.dependencies[name] = fromTarball[name]!;
  manifest.pnpm.overrides = fromTarball;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  // Seeded with the workspace's lockfile, pnpm picks the versions the workspace
  // was tested with, so better-sqlite3's build is reused from the store.
  cpSync(join(repoRoot, "pnpm-lock.yaml"), join(project, "pnpm-lock.yaml"));
  await run("pnpm", ["install", "--prefer-offline", "--no-frozen-lockfile"], {
    cwd: project,
    env,
  });

  // Installed from the tarballs: real folders in the project, not links into the workspace.
  for (const name of Object.keys(fromTarball).filter((n) => n in manifest.dependencies)) {
    const installed = realpathSync(join(project, "node_modules", name));
    expect(isInside(project, installed), `${name} is at ${installed}`).toBe(true);
    expect(readFileSync(join(installed, "package.json"), "utf8")).not.toContain("workspace:");
  }
  const resolved = await run(
    "node",
    ["--input-type=module", "-e", "console.log(import.meta.resolve('@waypoint/core'))"],
    { cwd: project, env },
  );
  expect(isInside(project, new URL(resolved.trim()).pathname)).toBe(true);

  await run("pnpm", ["run", "typecheck"], { cwd: project, env });
  const tests = await run("pnpm", ["test", "--reporter=verbose"], { cwd: project, env });
  expect(tests).toMatch(/the greeter on memory > writes a greeting and sends it once/);
  expect(tests).toMatch(/the greeter on sqlite > resumes after a send whose answer was lost/);
  expect(tests).toMatch(/Tests\s+\d+ passed/);
  expect(tests).not.toMatch(/failed/);

  // On SQLite by default: the second start finds the finished thread and sends nothing.
  for (let attempt = 0; attempt < 2; attempt++) {
    const started = await run("pnpm", ["--silent", "start", "Ada"], { cwd: project, env });
    expect(started).toContain("Hello, Ada! (thread greet-Ada, receipt msg-1)");
    expect(started).toContain("Messages in the outbox: 1");
  }
  expect(existsSync(join(project, ".waypoint", "checkpoints.db"))).toBe(true);
  // About 20 s; the margin is for a store without better-sqlite3's build, which compiles it.
}, 300_000);
