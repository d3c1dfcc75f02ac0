import type { CorruptRecordError } from "@waypoint/checkpoint";
import { assertParsed } from "@waypoint/checkpoint/backend";
import { z } from "zod";

/** The defaults of the time bounds (docs/limits.md). */
export const DEFAULT_TIMEOUT_MS = 8000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

const positiveMs = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);

/**
 * RedisCheckpointer's own options. Unknown keys pass (the shared
 * CheckpointerOptions are checked where they are used).
 */
const optionsSchema = z
  .looseObject({
    redis: z
      .custom<object>(
        (value) =>
          typeof value === "object" &&
          value !== null &&
          typeof (value as { defineCommand?: unknown }).defineCommand === "function",
        "expected an ioredis Redis or Cluster",
      )
      .optional(),
    url: z.string().min(1).optional(),
    // A brace would end or move the hash tag that keeps a thread on one cluster slot.
    prefix: z
      .string()
      .min(1)
      .regex(/^[^{}]*$/, "must not contain { or }")
      .optional(),
    attempts: z.number().int().min(1).max(1000).optional(),
    timeoutMs: positiveMs.optional(),
    commandTimeoutMs: positiveMs.optional(),
    ttlSeconds: z.number().finite().nonnegative().optional(),
    refreshTtlOnWrite: z.boolean().optional(),
    redeliverMs: positiveMs.optional(),
    onCorrupt: z
      .custom<(error: CorruptRecordError) => void>((value) => typeof value === "function")
      .optional(),
  })
  .refine((options) => options.redis !== undefined || options.url !== undefined, {
    message: "RedisCheckpointer needs { redis } or { url }",
    path: ["url"],
  });

/** Throws InvalidArgumentError naming the first bad option, as `options.<path>`. */
export function checkOptions(options: unknown): void {
  assertParsed(optionsSchema.safeParse(options));
}
