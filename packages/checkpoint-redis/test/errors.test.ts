import { existsSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { REDIS_ERROR_CODES } from "@waypoint/checkpoint-redis";

it("has a docs/errors page for every Redis error code", () => {
  for (const code of REDIS_ERROR_CODES) {
    const page = new URL(`../../../docs/errors/${code}.md`, import.meta.url);
    expect(existsSync(page), code).toBe(true);
    expect(readFileSync(page, "utf8")).toContain(code);
  }
});
