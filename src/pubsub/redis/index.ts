export {
  RedisAdapter,
  type RedisAdapterEvents,
  type RedisAdapterOptions,
} from './redis-adapter.js';
