import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";

/**
 * The page is served as it is in the package (no build step): its own files
 * from page/, Preact with htm from htm's standalone module, and Mermaid's ESM
 * bundle with its chunks, all from this package's dependencies.
 */
const require = createRequire(import.meta.url);
const PAGE_DIR = fileURLToPath(new URL("../../page/", import.meta.url));
// htm exports no package.json; its main file is in dist/.
const HTM_DIR = dirname(dirname(require.resolve("htm")));
const MERMAID_DIR = dirname(require.resolve("mermaid/package.json"));

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** A file under `root`, or undefined for anything outside it or missing. */
async function fileUnder(root: string, relative: string): Promise<Buffer | undefined> {
  const path = normalize(join(root, relative));
  if (!path.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

function send(body: Buffer | undefined, name: string, cache: string): Response {
  if (body === undefined) return new Response("Not found", { status: 404 });
  return new Response(new Uint8Array(body), {
    headers: {
      "content-type": TYPES[extname(name)] ?? "application/octet-stream",
      "cache-control": cache,
    },
  });
}

export function addPageRoutes(app: Hono): void {
  app.get("/", async () => send(await fileUnder(PAGE_DIR, "index.html"), "index.html", "no-store"));
  app.get("/page/*", async (c) => {
    const name = c.req.path.slice("/page/".length);
    return send(await fileUnder(PAGE_DIR, name), name, "no-cache");
  });
  app.get("/vendor/preact-htm.js", async () =>
    send(await fileUnder(HTM_DIR, "preact/standalone.module.js"), "preact.js", "max-age=3600"),
  );
  app.get("/vendor/mermaid/*", async (c) => {
    const name = c.req.path.slice("/vendor/mermaid/".length);
    if (extname(name) !== ".mjs") return new Response("Not found", { status: 404 });
    return send(await fileUnder(join(MERMAID_DIR, "dist"), name), name, "max-age=3600");
  });
}
