export {
  DEFAULT_DATABASE_FILE,
  SqliteCheckpointer,
  type SqliteCheckpointerOptions,
} from "./sqlite-checkpointer.js";
export { DatabaseCorruptError, SQLITE_ERROR_CODES, type SqliteErrorCode } from "./errors.js";
/** @internal */
export { SCHEMA_VERSION } from "./internal/schema.js";
