/**
 * The starter's rules over their whole argument space: which folder names it
 * accepts, and that a folder it refuses is left exactly as it was.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { packageNameProblem } from "../src/package-name.js";

const quiet = (cwd: string) => ({
  stdout: { write: () => true },
  stderr: { write: () => true },
  cwd,
});

/** Every file under `folder` with its contents, by relative path. */
function contents(folder: string, prefix = ""): Record<string, string> {
  const found: Record<string, string> = {};
  for (const entry of readdirSync(join(folder, prefix), { withFileTypes: true })) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(found, contents(folder, path));
    else found[path] = readFileSync(join(folder, path), "utf8");
  }
  return found;
}

describe("packageNameProblem over any string", () => {
  it("accepts only names npm can take as a URL path segment, in lowercase, 1-214 long, not hidden", () => {
    const anyName = fc.oneof(
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.stringMatching(/^[a-zA-Z0-9._~ -]{0,12}$/),
    );
    fc.assert(
      fc.property(anyName, (name) => {
        if (packageNameProblem(name) !== undefined) return;
        expect(encodeURIComponent(name)).toBe(name);
        expect(name.toLowerCase()).toBe(name);
        expect(name.length).toBeGreaterThan(0);
        expect(name.length).toBeLessThanOrEqual(214);
        expect(name).not.toMatch(/^[._]/);
      }),
      { numRuns: 2_000, seed: 25 },
    );
  });

  it("accepts every name of lowercase letters, digits and - . _ ~ that does not start with . or _", () => {
    const valid = fc
      .stringMatching(/^[a-z0-9][a-z0-9._~-]{0,40}$/)
      .filter((name) => name !== "node_modules" && name !== "favicon.ico");
    fc.assert(
      fc.property(valid, (name) => {
        expect(packageNameProblem(name)).toBeUndefined();
      }),
      { numRuns: 1_000, seed: 25 },
    );
  });
});

describe("a folder that holds anything is left as it was", () => {
  it("refuses it (exit 1) and changes no file in it", async () => {
    const entry = fc.tuple(
      fc.constantFrom(
        "package.json",
        "README.md",
        "src/agent.ts",
        "notes.txt",
        ".gitignore",
        "a/b/c",
      ),
      fc.string({ maxLength: 30 }),
    );
    const scratch = mkdtempSync(join(tmpdir(), "create-waypoint-prop-"));
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 5 }), async (files) => {
          const folder = join(scratch, `agent-${run++}`);
          for (const [path, text] of files) {
            mkdirSync(join(folder, path, ".."), { recursive: true });
            writeFileSync(join(folder, path), text);
          }
          const before = contents(folder);
          expect(await main([`agent-${run - 1}`], quiet(scratch))).toBe(1);
          expect(contents(folder)).toEqual(before);
        }),
        { numRuns: 40, seed: 25 },
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
