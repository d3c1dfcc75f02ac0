import { existsSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { POSTGRES_ERROR_CODES } from "@waypoint/checkpoint-postgres";

it("has a docs/errors page for every PostgreSQL error code", () => {
  for (const code of POSTGRES_ERROR_CODES) {
    const page = new URL(`../../../docs/errors/${code}.md`, import.meta.url);
    expect(existsSync(page), code).toBe(true);
    expect(readFileSync(page, "utf8")).toContain(code);
  }
});
