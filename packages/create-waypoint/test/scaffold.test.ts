import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { packageNameProblem } from "../src/package-name.js";

const ownVersion = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

async function run(argv: string[], cwd?: string) {
  const folder = cwd ?? mkdtempSync(join(tmpdir(), "create-waypoint-"));
  folders.push(folder);
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    cwd: folder,
    userAgent: "pnpm/10.34.9 npm/? node/v20.20.2 linux x64",
  });
  return { code, stdout, stderr, folder };
}

describe("create-waypoint", () => {
  it("copies the template, with .gitignore, the name and the packages' version", async () => {
    const { code, stdout, folder } = await run(["bots/greeter"]);
    expect(code).toBe(0);
    expect(stdout).toContain("cd bots/greeter\n  pnpm install\n  pnpm start\n  pnpm test");
    const project = join(folder, "bots", "greeter");
    expect(readdirSync(project).sort()).toEqual([
      ".gitignore",
      "README.md",
      "package.json",
      "src",
      "test",
      "tsconfig.json",
    ]);
    const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
      name: string;
      dependencies: Record<string, string>;
    };
    expect(manifest.name).toBe("greeter");
    expect(manifest.dependencies).toEqual({
      "@waypoint/checkpoint": `^${ownVersion}`,
      "@waypoint/checkpoint-sqlite": `^${ownVersion}`,
      "@waypoint/core": `^${ownVersion}`,
    });
    expect(readFileSync(join(project, "README.md"), "utf8")).toMatch(/^# greeter\n/);
  });

  it("fills an empty folder, and refuses one with files in it", async () => {
    const folder = mkdtempSync(join(tmpdir(), "create-waypoint-"));
    mkdirSync(join(folder, "empty"));
    expect((await run(["empty"], folder)).code).toBe(0);

    mkdirSync(join(folder, "used"));
    writeFileSync(join(folder, "used", "notes.txt"), "mine");
    const refused = await run(["used"], folder);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/used is not empty/);
    expect(readdirSync(join(folder, "used"))).toEqual(["notes.txt"]);

    const file = await run(["used/notes.txt"], folder);
    expect(file.code).toBe(1);
    expect(file.stderr).toMatch(/notes\.txt is a file/);
  });

  it("refuses a folder name that cannot be a package name", async () => {
    const { code, stderr, folder } = await run(["My Agent"]);
    expect(code).toBe(2);
    expect(stderr).toContain('"My Agent" cannot be a package name: it has capital letters');
    expect(readdirSync(folder)).toEqual([]);
  });

  it("prints usage for --help, and for no folder", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: create-waypoint <folder>/);
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("name the folder to create");
    const unknown = await run(["--force", "x"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--force'");
  });
});

describe("packageNameProblem", () => {
  it.each([
    ["my-agent", undefined],
    ["agent.v2_x~y", undefined],
    ["", "it is empty"],
    [".hidden", "it starts with . or _"],
    ["a b", "use only lowercase letters, digits, and - . _ ~"],
    ["node_modules", "that name is reserved"],
    ["x".repeat(215), "it is longer than 214 characters"],
  ])("%s", (name, problem) => {
    expect(packageNameProblem(name)).toBe(problem);
  });
});
