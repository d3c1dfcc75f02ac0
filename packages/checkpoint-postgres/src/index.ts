export { PostgresCheckpointer, type PostgresCheckpointerOptions } from "./postgres-checkpointer.js";
export { POSTGRES_ERROR_CODES, StorageUnavailableError, type PostgresErrorCode } from "./errors.js";
export { SCHEMA_VERSION } from "./internal/schema.js";
