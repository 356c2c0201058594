export { RedisAdapter } from './redis-adapter.js';
export { RedisClusterAdapter, type RedisClusterAdapterOptions } from './redis-cluster-adapter.js';
export type { MalformedInfo, RedisAdapterEvents, RedisAdapterOptions } from './redis-options.js';
