import { RedisLog } from './redis-log.js';
import { RedisLogAdapter } from './redis-log-adapter.js';
import type { RedisAdapterOptions } from './redis-options.js';

/**
 * Pub/sub across processes through Redis (6.2 or later): a publish on any process reaches the
 * subscribers of every process connected to the same Redis, in one order per topic for all
 * (the order of the topic's Redis stream), each message at most once per connection.
 *
 * The ordering, catch-up and own-publish bookkeeping are LogAdapter's (log-adapter.ts); the
 * Redis commands are RedisLog's (redis-log.ts). A process that missed messages (a lost
 * connection, a Redis restart) reads them from the topic's log (a stream trimmed to
 * `historyLength`), and reports through `undelivered` what the log no longer has. Publishes
 * made while Redis is unreachable fail at once and are reported too: nothing is queued.
 */
export class RedisAdapter extends RedisLogAdapter<RedisLog> {
  constructor(options: RedisAdapterOptions = {}) {
    super(options);
    this.useLog(
      new RedisLog(
        {
          ...this.bounds,
          origin: this.origin,
          prefix: options.prefix ?? 'tsws:',
          client: options.client,
          url: options.url ?? 'redis://127.0.0.1:6379',
        },
        this,
      ),
    );
  }
}
