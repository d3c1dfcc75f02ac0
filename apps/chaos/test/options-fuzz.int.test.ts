/**
 * The public API's arguments fuzzed on PostgreSQL and Redis (see
 * options-fuzz/property.ts), on the servers the int project's setup started.
 * FUZZ_NETWORK_RUNS sets the cases per store: 1,000 in CI, 5,000 under
 * `pnpm fuzz`.
 */
import { randomUUID } from "node:crypto";
import { describe, inject, it } from "vitest";
import type { Checkpointer } from "@waypoint/checkpoint";
import { dropStore, openStore, type ChaosStore } from "../src/stores.js";
import { fuzzPublicApi } from "./options-fuzz/property.js";

const RUNS = Number(process.env.FUZZ_NETWORK_RUNS ?? 1_000);

const stores: readonly ChaosStore[] = [
  { backend: "postgres", location: `fuzz_${randomUUID().slice(0, 8)}`, url: inject("pgUrl") },
  { backend: "redis", location: `fuzz-${randomUUID().slice(0, 8)}`, url: inject("redisUrl") },
];

describe.each(stores)("public API options fuzz on $backend", (store) => {
  it(`${RUNS} calls end in a round-trip or a typed error that wrote nothing`, async () => {
    const checkpointer: Checkpointer = openStore(store);
    try {
      await fuzzPublicApi(checkpointer, RUNS);
    } finally {
      await dropStore(store, checkpointer);
    }
  }, 600_000);
});
