import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

// Every ```ts block of these pages is a complete program that checks its own
// results with node:assert, so running them keeps the pages true to the code.
// `minimum` guards against a page whose blocks stop being found (a fence
// renamed to ```typescript-ish, say): the test would then pass on nothing.
// `runsIn` names the package whose dependencies a page's snippets import
// (they are written under its test folder, where those imports resolve).
const pages = [
  { page: "concepts.md", minimum: 8, covers: "each concept", runsIn: "core" },
  { page: "deploying-changes.md", minimum: 6, covers: "each kind of change", runsIn: "core" },
  {
    page: "functional-api.md",
    minimum: 9,
    covers: "each part of the Functional API",
    runsIn: "core",
  },
  {
    page: "multi-agent.md",
    minimum: 3,
    covers: "handoffs, a supervisor and a swarm",
    runsIn: "langchain",
  },
] as const;
const docsDir = fileURLToPath(new URL("../../../docs/", import.meta.url));
const snippetsDir = (pkg: string) =>
  fileURLToPath(new URL(`../../${pkg}/test/.snippets/`, import.meta.url));

interface Snippet {
  readonly heading: string;
  readonly line: number;
  readonly code: string;
}

function extractSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = markdown.split("\n");
  let heading = "(no heading)";
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const fence = /^(`{3,})(.*)$/.exec(line);
    if (fence) {
      // Skip to the closing fence, so that "#" lines inside code are not headings.
      const info = fence[2]!.trim();
      const body: string[] = [];
      const start = i + 1;
      for (i += 1; i < lines.length && !lines[i]!.startsWith(fence[1]!); i += 1) {
        body.push(lines[i]!);
      }
      if (info === "ts" || info === "typescript") {
        snippets.push({ heading, line: start, code: `${body.join("\n")}\n` });
      }
      continue;
    }
    const title = /^#{1,6}\s+(.*)$/.exec(line);
    if (title) heading = title[1]!.trim();
  }
  return snippets;
}

// Written fresh on every run; the folder's own .gitignore keeps them out of git.
for (const pkg of new Set(pages.map((p) => p.runsIn))) {
  const outDir = snippetsDir(pkg);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, ".gitignore"), "*\n");
}

for (const { page, minimum, covers, runsIn } of pages) {
  const outDir = snippetsDir(runsIn);
  const snippets = extractSnippets(readFileSync(join(docsDir, page), "utf8"));
  const stem = page.replace(/\.md$/, "");
  const files = snippets.map((snippet, index) => {
    const file = join(outDir, `${stem}-${index + 1}.ts`);
    writeFileSync(file, `// docs/${page}, line ${snippet.line}\n${snippet.code}`);
    return file;
  });

  describe(`docs/${page}`, () => {
    it(`has a runnable snippet for ${covers}`, () => {
      expect(snippets.length).toBeGreaterThanOrEqual(minimum);
    });

    snippets.forEach((snippet, index) => {
      it(`${snippet.heading} (snippet ${index + 1}, line ${snippet.line})`, async () => {
        const file = files[index]!;
        await import(pathToFileURL(file).href);
        // Keep only failing snippets for inspection: the package's `eslint .` cannot
        // parse files outside its tsconfig, and would fail on leftovers.
        rmSync(file);
      });
    });
  });
}
