export { RedisCheckpointer, type RedisCheckpointerOptions } from "./redis-checkpointer.js";
export { REDIS_ERROR_CODES, RedisUnavailableError, type RedisErrorCode } from "./errors.js";
