export { RedisCheckpointer } from "./redis-checkpointer.js";
export type { RedisCheckpointerOptions } from "./redis-checkpointer-options.js";
