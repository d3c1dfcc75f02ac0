import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/**
 * Debian's chromium (scripts/setup.sh --services installs it), headless, with
 * a fresh profile: playwright-core drives it, since no browser can be
 * downloaded here. CHROMIUM_PATH overrides the path.
 */
export async function launchChromium(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(
      `No chromium at ${executablePath}: run "bash scripts/setup.sh --services" (it installs Debian's chromium) or set CHROMIUM_PATH.`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "inspector-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go: docs/images when WAYPOINT_SCREENSHOTS=1 (pnpm --filter @waypoint/inspector screenshots), else nowhere. */
export function screenshotDir(): string | undefined {
  if (process.env.WAYPOINT_SCREENSHOTS !== "1") return undefined;
  const dir = join(import.meta.dirname, "../../../../docs/images");
  mkdirSync(dir, { recursive: true });
  return dir;
}
