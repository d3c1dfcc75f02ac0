// tsc resolves "vitest" for the augmentation below only if the program imports
// it; src/ alone (the build) would fail with TS2664 without this line.
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { startPostgres } from "./postgres-server.js";
import { startRedis } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
    redisUrl: string;
  }
}

interface Service {
  url: string;
  stop(): Promise<void>;
}

/** A server of our own, unless the environment names one to use instead. */
async function serviceFromEnv(
  envUrl: string | undefined,
  start: () => Promise<Service>,
): Promise<Service> {
  if (envUrl !== undefined && envUrl !== "") return { url: envUrl, stop: async () => {} };
  return start();
}

/**
 * vitest globalSetup for the `int` project: one Postgres and one Redis for the
 * whole run (or PG_URL / REDIS_URL), handed to tests as inject("pgUrl") and
 * inject("redisUrl").
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const results = await Promise.allSettled([
    serviceFromEnv(process.env.PG_URL, startPostgres),
    serviceFromEnv(process.env.REDIS_URL, startRedis),
  ]);
  const started = results.flatMap((result) =>
    result.status === "fulfilled" ? [result.value] : [],
  );
  const stopAll = async () => {
    await Promise.all(started.map((service) => service.stop()));
  };

  const [postgres, redis] = results;
  if (postgres?.status !== "fulfilled" || redis?.status !== "fulfilled") {
    await stopAll();
    const reasons = results.flatMap((result): unknown[] =>
      result.status === "rejected" ? [result.reason] : [],
    );
    throw new AggregateError(reasons, "test services did not start");
  }
  project.provide("pgUrl", postgres.value.url);
  project.provide("redisUrl", redis.value.url);
  return stopAll;
}
