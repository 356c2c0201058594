import type { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { LogBackend, LogEntry, LogFeed, LogRecord } from '../log-backend.js';
import {
  type AppendBounds,
  appendArgs,
  appendManyArgs,
  channelEntries,
  readLog,
  type TopicKeys,
} from './log-commands.js';
import type { RedisAdapterEvents } from './redis-options.js';
import { PUBLISH_MANY_SCRIPT, PUBLISH_SCRIPT } from './wire.js';

/** What the adapter settles before making the log (redis-adapter.ts checks the options). */
export interface RedisLogSettings extends AppendBounds {
  readonly origin: string;
  readonly prefix: string;
  readonly historyLength: number;
  readonly historyBytes: number;
  readonly historyTtl: number;
  readonly maxMessage: number;
  readonly client: Redis | undefined;
  readonly url: string;
}

type PublishCommand = (...args: (string | number | Buffer)[]) => Promise<string>;

/**
 * Topic logs in Redis (6.2 or later): a stream per topic (its log, trimmed to a window), the
 * id of its last entry, and a channel that carries each new entry (wire.ts). An append is one
 * script, atomic in Redis, so every process sees the order of the stream ids. Two connections:
 * one for commands, one subscribed to the channels.
 */
export class RedisLog implements LogBackend {
  readonly pub: Redis;
  readonly sub: Redis;
  /** Messages read from Redis and ignored as not ours (see the `malformed` event). */
  malformed = 0;
  private readonly ownsPub: boolean;
  private feed: LogFeed | undefined;
  private closed = false;
  /**
   * Rejects of the appends in flight. ioredis (autoResendUnfulfilledCommands off) drops the
   * commands in flight when a connection closes without settling them if it reconnects soon
   * (else rejects them some retries later): the adapter would never report those publishes.
   */
  private readonly inFlight = new Set<(error: Error) => void>();

  constructor(
    private readonly settings: RedisLogSettings,
    private readonly events: EventEmitter<RedisAdapterEvents>,
  ) {
    // Nothing waits for a connection: a publish either goes now or is reported, and a command
    // cut by a disconnection is not sent twice.
    const options = (role: string): RedisOptions => ({
      // Named, to be found in CLIENT LIST.
      connectionName: `tsws:${settings.origin}:${role}`,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      enableAutoPipelining: true,
    });
    if (settings.client !== undefined) {
      this.pub = settings.client;
      this.ownsPub = false;
      this.sub = settings.client.duplicate(options('sub'));
    } else {
      this.pub = new Redis(settings.url, options('pub'));
      this.ownsPub = true;
      this.sub = new Redis(settings.url, options('sub'));
    }
    this.pub.defineCommand('tswsPublish', { numberOfKeys: 4, lua: PUBLISH_SCRIPT });
    this.pub.defineCommand('tswsPublishMany', { numberOfKeys: 4, lua: PUBLISH_MANY_SCRIPT });
    for (const client of [this.pub, this.sub]) {
      client.on('ready', () => this.onReady());
      client.on('error', (error: Error) => {
        if (events.listenerCount('error') > 0) events.emit('error', error);
      });
    }
    this.sub.on('close', () => {
      if (this.closed) return;
      this.feed?.lost();
      events.emit('disconnected');
    });
    this.pub.on('close', () => {
      if (this.inFlight.size > 0) {
        const lost = [...this.inFlight];
        this.inFlight.clear();
        const error = new Error('the connection to Redis closed: outcome unknown');
        for (const reject of lost) reject(error);
      }
      if (!this.closed) events.emit('disconnected');
    });
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      // Whatever arrives on a channel, nothing is thrown into ioredis's parser.
      try {
        this.onMessage(channel, message);
      } catch {
        this.onMalformed('channel', String(channel), message?.length ?? 0);
      }
    });
  }

  start(feed: LogFeed): void {
    this.feed = feed;
  }

  /** Whether both connections are up. */
  get isReady(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  /** Either connection down is unavailable, as `isReady` says (not only the publishing one). */
  unavailable(): Error | undefined {
    for (const client of [this.pub, this.sub]) {
      if (client.status !== 'ready') return new Error(`not connected to Redis (${client.status})`);
    }
    return undefined;
  }

  append(topic: string, record: LogRecord): Promise<string> {
    const publish = (this.pub as unknown as { tswsPublish: PublishCommand }).tswsPublish;
    const args = appendArgs(this.keys(topic), this.channel(topic), record, this.settings);
    return this.track(publish.call(this.pub, ...args));
  }

  /**
   * One script call for the batch (PUBLISH_MANY_SCRIPT): one round trip, one trim, one channel
   * message. Every record has this process's origin (LogAdapter's): a batch of mixed origins
   * goes one by one.
   */
  appendMany(topic: string, records: readonly LogRecord[]): Promise<string> {
    const args = appendManyArgs(this.keys(topic), this.channel(topic), records, this.settings);
    if (args instanceof Error) return Promise.reject(args);
    if (args === 'each') {
      return Promise.all(records.map((record) => this.append(topic, record))).then(
        (ids) => ids[ids.length - 1]!,
      );
    }
    const publish = (this.pub as unknown as { tswsPublishMany: PublishCommand }).tswsPublishMany;
    return this.track(publish.call(this.pub, ...args));
  }

  /** `command`, settled at the latest when the publishing connection closes. */
  private track<T>(command: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject);
      command.then(
        (value) => {
          this.inFlight.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.inFlight.delete(reject);
          reject(error);
        },
      );
    });
  }

  read(topic: string, after: string): Promise<LogEntry[]> {
    return readLog(
      (...args) => this.pub.xrangeBuffer(...args),
      this.key(topic, 'log'),
      after,
      this.settings.maxMessage,
      (bytes) => this.onMalformed('log', topic, bytes),
    );
  }

  async last(topic: string): Promise<string | undefined> {
    return (await this.pub.get(this.key(topic, 'last'))) ?? undefined;
  }

  async subscribe(topic: string): Promise<void> {
    await this.sub.subscribe(this.channel(topic));
  }

  unsubscribe(topic: string): void {
    if (this.sub.status === 'ready') this.sub.unsubscribe(this.channel(topic)).catch(() => {});
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    const clients = this.ownsPub ? [this.sub, this.pub] : [this.sub];
    return Promise.all(clients.map(end)).then(() => {});
  }

  private onReady(): void {
    if (this.closed || !this.isReady) return;
    this.events.emit('ready');
    this.feed?.ready();
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    if (this.closed) return;
    const prefix = this.settings.prefix;
    const name = channel.toString();
    if (!name.startsWith(prefix)) return;
    const topic = name.slice(prefix.length);
    const entries = channelEntries(message, this.settings.maxMessage);
    if (entries === undefined) this.onMalformed('channel', topic, message.length);
    else for (const entry of entries) this.feed?.entry(topic, entry);
  }

  private onMalformed(source: 'channel' | 'log', topic: string, bytes: number): void {
    this.malformed++;
    this.events.emit('malformed', { source, topic, bytes });
  }

  private keys(topic: string): TopicKeys {
    return [
      this.key(topic, 'log'),
      this.key(topic, 'last'),
      this.key(topic, 'bytes'),
      this.key(topic, 'sizes'),
    ];
  }

  private key(topic: string, kind: 'log' | 'last' | 'bytes' | 'sizes'): string {
    return `${this.settings.prefix}${topic}:${kind}`;
  }

  private channel(topic: string): string {
    return `${this.settings.prefix}${topic}`;
  }
}

function end(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return Promise.resolve();
  }
  return client.quit().then(
    () => {},
    () => client.disconnect(),
  );
}
