import { assertParsed } from "@waypoint/checkpoint/backend";
import { z } from "zod";

/** How long a dead or frozen server may hold an operation, by default. */
export const DEFAULT_TIMEOUTS = {
  connectTimeoutMs: 2_000,
  queryTimeoutMs: 3_000,
  unavailableAfterMs: 9_000,
} as const;

const positiveInteger = z.number().int().positive();
const timeout = positiveInteger.max(2 ** 31 - 1); // setTimeout's largest delay

/**
 * PostgresCheckpointer's own options. Unknown keys pass (the shared
 * CheckpointerOptions are checked where they are used).
 */
const optionsSchema = z
  .looseObject({
    pool: z
      .custom<object>((value) => typeof value === "object" && value !== null, "expected a pg.Pool")
      .refine((value) => typeof (value as { connect?: unknown }).connect === "function", {
        message: "expected a pg.Pool",
      })
      .optional(),
    connectionString: z.string().min(1).optional(),
    schema: z.string().min(1).max(63).optional(),
    retry: z
      .strictObject({
        attempts: positiveInteger.optional(),
        initialDelayMs: z.number().nonnegative().finite().optional(),
        maxDelayMs: z.number().nonnegative().finite().optional(),
      })
      .optional(),
    ttlSeconds: z.number().nonnegative().finite().optional(),
    preparedStatements: z.boolean().optional(),
    groupCommit: z
      .union([
        z.boolean(),
        z.strictObject({
          maxBatch: positiveInteger.optional(),
          maxInFlight: positiveInteger.optional(),
        }),
      ])
      .optional(),
    connectTimeoutMs: timeout.optional(),
    queryTimeoutMs: timeout.optional(),
    unavailableAfterMs: timeout.optional(),
  })
  .refine((options) => options.pool !== undefined || options.connectionString !== undefined, {
    message: "PostgresCheckpointer needs { pool } or { connectionString }",
    path: ["pool"],
  });

/** Throws InvalidArgumentError naming the first bad option, as `options.<path>`. */
export function checkOptions(options: unknown): void {
  assertParsed(optionsSchema.safeParse(options));
}
