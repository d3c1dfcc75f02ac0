import type { Cluster, Redis } from "ioredis";
import type { Serializer } from "@waypoint/checkpoint";
import type { Keys } from "./keys.js";
import type { ScriptName } from "./scripts.js";

/** What the run store borrows from its checkpointer: the connection, the keys and the retries. */
export interface RedisAccess {
  readonly redis: Redis | Cluster;
  readonly keys: Keys;
  readonly serializer: Serializer;
  /** XAUTOCLAIM's min idle time: an entry its consumer neither settled nor rescheduled comes back after this. */
  readonly redeliverMs: number;
  run<T>(
    operation: string,
    attempt: () => Promise<T>,
    committed?: () => Promise<T | undefined>,
  ): Promise<T>;
  script(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
}

/** A run's hash fields as HMGET returns them, in RUN_FIELDS order (internal/run-records.ts). */
export type Values = (string | null)[];
