export { freePort } from "./free-port.js";
export { startPostgres } from "./postgres-server.js";
export type { PostgresServer, StartPostgresOptions } from "./postgres-server.js";
export { startRedis } from "./redis-server.js";
export type { RedisServer, StartRedisOptions } from "./redis-server.js";
export { ChildScript } from "./child-script.js";
