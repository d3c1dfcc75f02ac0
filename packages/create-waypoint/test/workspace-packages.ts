/**
 * The workspace's packages, read from their package.json files, and how to
 * pack them: what the packed-starter test needs to install the published
 * shape of create-waypoint and of the `@waypoint/*` packages its template uses.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "@waypoint/test-services";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly bin?: string | Record<string, string>;
  readonly exports?: unknown;
  readonly dependencies?: Record<string, string>;
}

export interface WorkspacePackage {
  readonly directory: string;
  readonly manifest: Manifest;
}

export function readManifest(file: string): Manifest {
  return JSON.parse(readFileSync(file, "utf8")) as Manifest;
}

/** The published packages under packages/, by name. */
export function workspacePackages(): Map<string, WorkspacePackage> {
  const found = new Map<string, WorkspacePackage>();
  const parent = join(repoRoot, "packages");
  for (const entry of readdirSync(parent)) {
    const file = join(parent, entry, "package.json");
    if (!existsSync(file)) continue;
    const manifest = readManifest(file);
    if (manifest.private !== true)
      found.set(manifest.name, { directory: join(parent, entry), manifest });
  }
  return found;
}

/** `names` and the workspace packages they depend on at run time, transitively. */
export function withWorkspaceDependencies(
  names: Iterable<string>,
  packages: Map<string, WorkspacePackage>,
): string[] {
  const closure = new Set<string>();
  const visit = (name: string) => {
    const found = packages.get(name);
    if (found === undefined) throw new Error(`${name} is not a published workspace package`);
    if (closure.has(name)) return;
    closure.add(name);
    for (const [dependency, range] of Object.entries(found.manifest.dependencies ?? {}))
      if (range.startsWith("workspace:")) visit(dependency);
  };
  for (const name of names) visit(name);
  return [...closure].sort();
}

/** The built files a package's bin and exports point to (not its source condition). */
export function builtTargets({ directory, manifest }: WorkspacePackage): string[] {
  const targets: string[] = [];
  const collect = (value: unknown, condition: string) => {
    if (typeof value === "string") {
      if (condition !== "@waypoint/source") targets.push(join(directory, value));
    } else if (typeof value === "object" && value !== null) {
      for (const [key, inner] of Object.entries(value)) collect(inner, key);
    }
  };
  collect(manifest.bin, "bin");
  collect(manifest.exports, "exports");
  return targets;
}

/** Packs a package with `pnpm pack` into `destination`, a new folder; returns the tarball's path. */
export async function pack(directory: string, destination: string): Promise<string> {
  mkdirSync(destination, { recursive: true });
  await run("pnpm", ["pack", "--pack-destination", destination], { cwd: directory });
  const made = readdirSync(destination);
  if (made.length !== 1) throw new Error(`pnpm pack in ${directory} made ${made.join(", ")}`);
  return join(destination, made[0]!);
}
