export { freePort } from "./free-port.js";
export { startPostgres } from "./postgres-server.js";
export type { PostgresServer, StartPostgresOptions } from "./postgres-server.js";
export { startRedis } from "./redis-server.js";
export type { RedisServer, StartRedisOptions } from "./redis-server.js";
export { ChildScript } from "./child-script.js";
export { startRedisCluster } from "./redis-cluster.js";
export type { RedisCluster, StartRedisClusterOptions } from "./redis-cluster.js";
export { run, type RunOptions } from "./run.js";
