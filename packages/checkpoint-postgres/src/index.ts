export { PostgresCheckpointer, type PostgresCheckpointerOptions } from "./postgres-checkpointer.js";
/** @internal */
export { SCHEMA_VERSION } from "./internal/schema.js";
export type { RetryOptions } from "./internal/retry.js";
