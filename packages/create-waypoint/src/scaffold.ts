import { cp, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface ScaffoldOptions {
  /** The folder to create or fill; it must be missing or empty. */
  readonly directory: string;
  /** The package name, also the README's title (the template's is `# my-agent`). */
  readonly name: string;
  /** The version of the `@waypoint/*` packages to depend on (`^version`). */
  readonly version: string;
  readonly templateDirectory: string;
}

/** Files that npm drops or renames when it packs a package, so the template stores them with `_`. */
const RENAMED = { _gitignore: ".gitignore" } as const;

/** The target folder cannot be used: it holds files, or it is a file. */
export class TargetFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetFolderError";
  }
}

/** Copies the template into `directory` and makes it the project `name`. */
export async function scaffold(options: ScaffoldOptions): Promise<void> {
  const { directory, name, version, templateDirectory } = options;
  const existing = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    if (error.code === "ENOTDIR") throw new TargetFolderError(`${directory} is a file`);
    throw error;
  });
  if (existing.length > 0)
    throw new TargetFolderError(
      `${directory} is not empty: pick a new folder name, or empty this one first`,
    );

  // errorOnExist with force off: never overwrite a file that appeared meanwhile.
  await cp(templateDirectory, directory, { recursive: true, errorOnExist: true, force: false });
  for (const [stored, real] of Object.entries(RENAMED))
    await rename(join(directory, stored), join(directory, real));

  const manifestPath = join(directory, "package.json");
  const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as {
    name: string;
    dependencies: Record<string, string>;
  };
  manifest.name = name;
  for (const dependency of Object.keys(manifest.dependencies))
    if (dependency.startsWith("@waypoint/")) manifest.dependencies[dependency] = `^${version}`;
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  const readmePath = join(directory, "README.md");
  const readme = await readFile(readmePath, "utf8");
  await writeFile(readmePath, readme.replace(/^# my-agent$/m, `# ${name}`));
}
