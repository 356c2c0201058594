export {
  type MalformedInfo,
  RedisAdapter,
  type RedisAdapterEvents,
  type RedisAdapterOptions,
} from './redis-adapter.js';
