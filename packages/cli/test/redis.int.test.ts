import { randomUUID } from "node:crypto";
import { RedisCheckpointer } from "@waypoint/checkpoint-redis";
import { freePort } from "@waypoint/test-services";
import { describe, expect, inject, it } from "vitest";
import { cli } from "./cli-harness.js";
import { runCliSuite } from "./cli-suite.js";

const url = inject("redisUrl");

// A fresh key prefix per suite, on the Redis the int project's setup started.
runCliSuite({
  name: "Redis",
  create: async () => {
    const prefix = `cli-${randomUUID().slice(0, 8)}`;
    const checkpointer = new RedisCheckpointer({ url, prefix });
    return { args: ["--store", url, "--prefix", prefix], checkpointer };
  },
});

describe("waypoint CLI: Redis errors", () => {
  it("an unreachable server is STORAGE_UNAVAILABLE within the store's timeout (8 s), or --timeout", async () => {
    const port = await freePort();
    const store = `redis://127.0.0.1:${port}`;
    let started = Date.now();
    const result = await cli(["threads", "--store", store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error STORAGE_UNAVAILABLE: /);
    expect(result.stderrAt! - started).toBeLessThan(8_000 + 1_500);
    started = Date.now();
    const quick = await cli(["runs", "list", "--store", store, "--timeout", "1000", "--json"]);
    expect(quick.code).toBe(1);
    expect(quick.stdout).toBe("");
    expect(quick.stderr).toMatch(/^error STORAGE_UNAVAILABLE: /);
    expect(quick.stderrAt! - started).toBeLessThan(1_000 + 1_500);
  }, 30_000);

  it("--schema is refused on a Redis store", async () => {
    const result = await cli(["threads", "--store", url, "--schema", "x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--schema is for PostgreSQL stores");
  });
});
