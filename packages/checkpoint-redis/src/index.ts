export { RedisCheckpointer, type RedisCheckpointerOptions } from "./redis-checkpointer.js";
