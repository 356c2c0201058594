import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AdapterSink, History, PubSubAdapter, PubSubMessage } from '../adapter.js';
import { LogAdapter } from '../log-adapter.js';
import { RedisLog } from './redis-log.js';
import type { RedisAdapterEvents, RedisAdapterOptions } from './redis-options.js';

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
export class RedisAdapter extends EventEmitter<RedisAdapterEvents> implements PubSubAdapter {
  /** This process's id in the messages it publishes. */
  readonly origin = randomBytes(8).toString('hex');
  /** The largest message carried (data bytes). */
  readonly maxMessage: number;
  private readonly log: RedisLog;
  private readonly logAdapter: LogAdapter;

  constructor(options: RedisAdapterOptions = {}) {
    super();
    const historyLength = positiveInteger('historyLength', options.historyLength ?? 1000);
    const historyTtl = positiveInteger('historyTtl', options.historyTtl ?? 24 * 60 * 60 * 1000);
    const historyBytes = positiveInteger('historyBytes', options.historyBytes ?? 16 * 1024 ** 2);
    this.maxMessage = positiveInteger('maxMessage', options.maxMessage ?? 1024 ** 2);
    this.log = new RedisLog(
      {
        origin: this.origin,
        prefix: options.prefix ?? 'tsws:',
        historyLength,
        historyBytes,
        historyTtl,
        maxMessage: this.maxMessage,
        client: options.client,
        url: options.url ?? 'redis://127.0.0.1:6379',
      },
      this,
    );
    this.logAdapter = new LogAdapter(this.log, {
      origin: this.origin,
      maxMessage: this.maxMessage,
      // While a log is read, live messages wait: at most a log's worth (or one message).
      maxHeld: Math.max(historyBytes, this.maxMessage) + 1024,
      error: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    });
  }

  /** Messages read from Redis and ignored as not ours (see the `malformed` event). */
  get malformed(): number {
    return this.log.malformed;
  }

  /** Whether both connections are up. */
  get isReady(): boolean {
    return this.log.isReady;
  }

  /** Resolves once both connections are up. */
  ready(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.isReady) return;
        this.off('ready', check);
        resolve();
      };
      this.on('ready', check);
    });
  }

  start(sink: AdapterSink): void {
    this.logAdapter.start(sink);
  }

  subscribe(topic: string): void {
    this.logAdapter.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    this.logAdapter.unsubscribe(topic);
  }

  publish(message: PubSubMessage, except: unknown): boolean {
    return this.logAdapter.publish(message, except);
  }

  history(topic: string, since: string): Promise<History> {
    return this.logAdapter.history(topic, since);
  }

  close(): Promise<void> {
    return this.logAdapter.close();
  }
}

export function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new TypeError(`${name} must be a positive integer`);
  }
  return value;
}
