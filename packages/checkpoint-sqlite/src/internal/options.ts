import { InvalidArgumentError } from "@waypoint/checkpoint";
import { assertParsed } from "@waypoint/checkpoint/backend";
import { z } from "zod";

/**
 * SqliteCheckpointer's own options. Unknown keys pass (the shared
 * CheckpointerOptions are checked where they are used).
 */
const optionsSchema = z.looseObject({
  synchronous: z.enum(["FULL", "NORMAL"]).optional(),
  // SQLite takes a 32-bit busy timeout.
  busyTimeoutMs: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 31 - 1)
    .optional(),
});

const databaseSchema = z.union([
  z.string(),
  z.custom<object>(
    (value) =>
      typeof value === "object" &&
      value !== null &&
      typeof (value as { prepare?: unknown }).prepare === "function",
    "expected a file path or a better-sqlite3 Database",
  ),
]);

/** Throws InvalidArgumentError naming the first bad argument (`database` or `options.<path>`). */
export function checkArguments(database: unknown, options: unknown): void {
  const checked = databaseSchema.safeParse(database);
  if (!checked.success)
    throw new InvalidArgumentError("database", "expected a file path or a better-sqlite3 Database");
  assertParsed(optionsSchema.safeParse(options));
}
