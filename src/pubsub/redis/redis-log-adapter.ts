import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AdapterSink, History, PubSubAdapter, PubSubMessage } from '../adapter.js';
import { LogAdapter } from '../log-adapter.js';
import type { LogBackend } from '../log-backend.js';
import type { RedisAdapterEvents, RedisAdapterOptions } from './redis-options.js';

/** The history and message bounds of a Redis adapter, checked, with their defaults. */
export interface RedisBounds {
  readonly historyLength: number;
  readonly historyTtl: number;
  readonly historyBytes: number;
  readonly maxMessage: number;
}

/** A Redis log the adapter reports on: a LogBackend that counts what was not ours. */
export interface CountedLog extends LogBackend {
  readonly malformed: number;
}

/**
 * What RedisAdapter (one server) and RedisClusterAdapter share: the bounds, and a PubSubAdapter
 * that is LogAdapter (log-adapter.ts: order, catch-up, own publishes) over the subclass's log.
 */
export abstract class RedisLogAdapter<Log extends CountedLog>
  extends EventEmitter<RedisAdapterEvents>
  implements PubSubAdapter
{
  /** This process's id in the messages it publishes. */
  readonly origin = randomBytes(8).toString('hex');
  /** The largest message carried (data bytes). */
  readonly maxMessage: number;
  protected readonly bounds: RedisBounds;
  private _log: Log | undefined;
  private logAdapter: LogAdapter | undefined;

  constructor(options: Pick<RedisAdapterOptions, keyof RedisBounds>) {
    super();
    this.bounds = {
      historyLength: positiveInteger('historyLength', options.historyLength ?? 1000),
      historyTtl: positiveInteger('historyTtl', options.historyTtl ?? 24 * 60 * 60 * 1000),
      historyBytes: positiveInteger('historyBytes', options.historyBytes ?? 16 * 1024 ** 2),
      maxMessage: positiveInteger('maxMessage', options.maxMessage ?? 1024 ** 2),
    };
    this.maxMessage = this.bounds.maxMessage;
  }

  /** Called once by the subclass's constructor, with its log. */
  protected useLog(log: Log): void {
    this._log = log;
    this.logAdapter = new LogAdapter(log, {
      origin: this.origin,
      maxMessage: this.maxMessage,
      // While a log is read, live messages wait: at most a log's worth (or one message).
      maxHeld: Math.max(this.bounds.historyBytes, this.maxMessage) + 1024,
      error: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    });
  }

  protected get log(): Log {
    return this._log!;
  }

  /** Messages read from Redis and ignored as not ours (see the `malformed` event). */
  get malformed(): number {
    return this.log.malformed;
  }

  /** Whether Redis can be used now (every connection up, no resubscription under way). */
  get isReady(): boolean {
    return this.log.isReady;
  }

  /** Resolves once Redis can be used. */
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
    this.logAdapter!.start(sink);
  }

  subscribe(topic: string): void {
    this.logAdapter!.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    this.logAdapter!.unsubscribe(topic);
  }

  publish(message: PubSubMessage, except: unknown): boolean {
    return this.logAdapter!.publish(message, except);
  }

  history(topic: string, since: string): Promise<History> {
    return this.logAdapter!.history(topic, since);
  }

  close(): Promise<void> {
    return this.logAdapter!.close();
  }
}

export function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new TypeError(`${name} must be a positive integer`);
  }
  return value;
}
