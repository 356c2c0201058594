export { RedisAdapter } from './redis-adapter.js';
export type { MalformedInfo, RedisAdapterEvents, RedisAdapterOptions } from './redis-options.js';
