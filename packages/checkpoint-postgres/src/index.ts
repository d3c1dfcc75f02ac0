export { PostgresCheckpointer, type PostgresCheckpointerOptions } from "./postgres-checkpointer.js";
export { SCHEMA_VERSION } from "./internal/schema.js";
