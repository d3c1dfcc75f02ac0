import { readFileSync } from "node:fs";
import { basename, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packageNameProblem } from "./package-name.js";
import { TargetFolderError, scaffold } from "./scaffold.js";

export interface Io {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly cwd: string;
  /** npm_config_user_agent, to print the commands of the package manager in use. */
  readonly userAgent?: string | undefined;
}

/** The package's own folder: dist/ and src/ are both one level below it. */
const packageRoot = fileURLToPath(new URL("..", import.meta.url));

const USAGE = `Usage: create-waypoint <folder>

Makes a new Waypoint agent in <folder> (a new or empty folder; its name
becomes the package name): a graph with two nodes and a side effect, run on
SQLite, with a test on the memory and SQLite checkpointers.

  pnpm create waypoint my-agent
  npm create waypoint@latest my-agent

Options:
  -h, --help     show this help
  -v, --version  show the version
`;

/**
 * create-waypoint is in the `@waypoint/*` packages' fixed changeset group
 * (.changeset/config.json), so its own version is theirs.
 */
function ownVersion(): string {
  const manifest = JSON.parse(readFileSync(resolve(packageRoot, "package.json"), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

function packageManager(userAgent: string | undefined): string {
  const name = userAgent?.split("/")[0];
  return name === "pnpm" || name === "yarn" || name === "bun" ? name : "npm";
}

/** Runs create-waypoint with `argv` (without node and the script); returns the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    io.stderr.write(`create-waypoint: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (values.version === true) {
    io.stdout.write(`${ownVersion()}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(
      `create-waypoint: ${positionals.length === 0 ? "name the folder to create" : "give one folder"}\n\n${USAGE}`,
    );
    return 2;
  }

  const directory = resolve(io.cwd, positionals[0]!);
  const name = basename(directory);
  const problem = packageNameProblem(name);
  if (problem !== undefined) {
    io.stderr.write(`create-waypoint: "${name}" cannot be a package name: ${problem}\n`);
    return 2;
  }
  try {
    await scaffold({
      directory,
      name,
      version: ownVersion(),
      templateDirectory: resolve(packageRoot, "template"),
    });
  } catch (error) {
    if (!(error instanceof TargetFolderError)) throw error;
    io.stderr.write(`create-waypoint: ${error.message}\n`);
    return 1;
  }

  const run = packageManager(io.userAgent);
  const shown = relative(io.cwd, directory) || ".";
  io.stdout.write(
    `Created ${name} in ${directory}.\n\n` +
      `  cd ${shown}\n  ${run} install\n  ${run} start\n  ${run} test\n`,
  );
  return 0;
}
