import { existsSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { INSPECTOR_ERROR_CODES } from "../src/internal/api-error.js";

it("has a docs/errors page for every code of the inspector's own refusals", () => {
  for (const code of INSPECTOR_ERROR_CODES) {
    const page = new URL(`../../../docs/errors/${code}.md`, import.meta.url);
    expect(existsSync(page), code).toBe(true);
    expect(readFileSync(page, "utf8")).toContain(code);
  }
});
