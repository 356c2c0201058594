import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type {
  AdapterSink,
  Delivery,
  History,
  PubSubAdapter,
  PubSubMessage,
  UndeliveredReport,
} from '../adapter.js';
import { FIRST_PREV, replayComplete } from '../seq.js';
import { type FeedOutput, TopicFeed } from '../topic-feed.js';
import type { RedisAdapterEvents, RedisAdapterOptions } from './redis-options.js';
import {
  decodeChannelMessage,
  decodeStreamEntry,
  flagsOf,
  PUBLISH_SCRIPT,
  type WireEntry,
} from './wire.js';

interface TopicState {
  readonly feed: TopicFeed<WireEntry>;
  /** SUBSCRIBE was acknowledged on the current subscriber connection. */
  subscribed: boolean;
  /** The log after `feed.last` is being read. */
  reading: boolean;
  /** Changes when the connection is lost: answers to older requests are ignored. */
  generation: number;
  /**
   * This process's publishes to the topic made before its first subscription was acknowledged:
   * they go once it is, so that a subscriber here gets what this process publishes after it
   * subscribed (else the log might be trimmed past them first). Undefined once live.
   */
  waiting: { message: PubSubMessage; except: unknown }[] | undefined;
}

type PublishCommand = (
  log: string,
  last: string,
  bytes: string,
  origin: string,
  token: string,
  flags: number,
  data: Buffer,
  maxLength: number,
  ttl: number,
  channel: string,
  maxBytes: number,
) => Promise<string>;

const PAGE = 1000;
const RETRY_MS = 1000;
/** An own publish not seen back after this long no longer needs its `except`. */
const OWN_TTL_MS = 60_000;

/**
 * Pub/sub across processes through Redis (6.2 or later): a publish on any process reaches the
 * subscribers of every process connected to the same Redis, in one order per topic for all
 * (the order of the topic's Redis stream), each message at most once per connection.
 *
 * Every publish is delivered when it comes back from Redis, on the publishing process too:
 * that is what makes the order the same everywhere. Each message carries the id of the one
 * before it, so a process that missed messages (a lost connection, a Redis restart) notices,
 * reads them from the topic's log (a stream trimmed to `historyLength`), and reports through
 * `undelivered` what the log no longer has. Publishes made while Redis is unreachable fail at
 * once and are reported too: nothing is queued for later.
 */
export class RedisAdapter extends EventEmitter<RedisAdapterEvents> implements PubSubAdapter {
  /** This process's id in the messages it publishes. */
  readonly origin = randomBytes(8).toString('hex');
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly ownsPub: boolean;
  private readonly prefix: string;
  private readonly historyLength: number;
  private readonly historyBytes: number;
  private readonly historyTtl: number;
  /** The largest message carried (data bytes). */
  readonly maxMessage: number;
  /** Messages read from Redis and ignored as not ours (see the `malformed` event). */
  malformed = 0;
  private readonly topics = new Map<string, TopicState>();
  /** `except` of this process's publishes in flight, by token. */
  private readonly own = new Map<string, { except: unknown; at: number }>();
  private sink: AdapterSink | undefined;
  private counter = 0;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisAdapterOptions = {}) {
    super();
    this.prefix = options.prefix ?? 'tsws:';
    this.historyLength = positiveInteger('historyLength', options.historyLength ?? 1000);
    this.historyTtl = positiveInteger('historyTtl', options.historyTtl ?? 24 * 60 * 60 * 1000);
    this.historyBytes = positiveInteger('historyBytes', options.historyBytes ?? 16 * 1024 ** 2);
    this.maxMessage = positiveInteger('maxMessage', options.maxMessage ?? 1024 ** 2);
    // Nothing waits for a connection: a publish either goes now or is reported, and a command
    // cut by a disconnection is not sent twice.
    const settings = (role: string): RedisOptions => ({
      // Named, to be found in CLIENT LIST.
      connectionName: `tsws:${this.origin}:${role}`,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      enableAutoPipelining: true,
    });
    if (options.client !== undefined) {
      this.pub = options.client;
      this.ownsPub = false;
      this.sub = options.client.duplicate(settings('sub'));
    } else {
      const url = options.url ?? 'redis://127.0.0.1:6379';
      this.pub = new Redis(url, settings('pub'));
      this.ownsPub = true;
      this.sub = new Redis(url, settings('sub'));
    }
    this.pub.defineCommand('tswsPublish', { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
    for (const client of [this.pub, this.sub]) {
      client.on('ready', () => this.onReady());
      client.on('error', (error: Error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      });
    }
    this.sub.on('close', () => this.onSubscriberLost());
    this.pub.on('close', () => {
      if (!this.closed) this.emit('disconnected');
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

  /** Whether both connections are up. */
  get isReady(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
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
    if (this.sink !== undefined) throw new Error('this adapter already serves a server');
    this.sink = sink;
  }

  subscribe(topic: string): void {
    if (this.closed || this.topics.has(topic)) return;
    const state: TopicState = {
      // While the log is read, live messages wait: at most a log's worth (or one message).
      feed: new TopicFeed<WireEntry>(
        Math.max(this.historyBytes, this.maxMessage) + 1024,
        (entry) => entry.data.length + 64,
      ),
      subscribed: false,
      reading: false,
      generation: 0,
      waiting: [],
    };
    this.topics.set(topic, state);
    if (this.isReady) void this.establish(topic, state);
  }

  unsubscribe(topic: string): void {
    const state = this.topics.get(topic);
    if (state === undefined) return;
    this.topics.delete(topic);
    state.generation++;
    this.flushWaiting(state);
    if (state.subscribed && this.sub.status === 'ready') {
      this.sub.unsubscribe(this.channel(topic)).catch(() => {});
    }
  }

  publish(message: PubSubMessage, except: unknown): boolean {
    if (this.closed) return false;
    if (message.data.length > this.maxMessage) {
      const error = new Error(
        `message of ${message.data.length} bytes over the adapter's maxMessage (${this.maxMessage})`,
      );
      process.nextTick(() => this.failed(message, error));
      return false;
    }
    if (this.pub.status !== 'ready') {
      const error = new Error(`not connected to Redis (${this.pub.status})`);
      process.nextTick(() => this.failed(message, error));
      return false;
    }
    const waiting = this.topics.get(message.topic)?.waiting;
    if (waiting !== undefined) waiting.push({ message, except });
    else this.send(message, except);
    return true;
  }

  private send(message: PubSubMessage, except: unknown): void {
    const token = String(++this.counter);
    if (except !== undefined) this.rememberOwn(token, except);
    const { topic, data, binary, compress } = message;
    const publish = (this.pub as unknown as { tswsPublish: PublishCommand }).tswsPublish;
    publish
      .call(
        this.pub,
        this.key(topic, 'log'),
        this.key(topic, 'last'),
        this.key(topic, 'bytes'),
        this.origin,
        token,
        flagsOf(binary, compress),
        data,
        this.historyLength,
        this.historyTtl,
        this.channel(topic),
        this.historyBytes,
      )
      .catch((error: Error) => {
        this.own.delete(token);
        // The connection may have dropped after Redis ran the script: not confirmed.
        this.failed(message, error);
      });
  }

  /** The topic is live: publishes that waited for it go, in order. */
  private flushWaiting(state: TopicState): void {
    const waiting = state.waiting;
    state.waiting = undefined;
    if (waiting === undefined) return;
    for (const { message, except } of waiting) {
      if (this.pub.status === 'ready' && !this.closed) this.send(message, except);
      else this.failed(message, new Error(`not connected to Redis (${this.pub.status})`));
    }
  }

  async history(topic: string, since: string): Promise<History> {
    const entries = await this.readAfter(topic, since);
    const firstPrev =
      entries[0]?.prev ?? (await this.pub.get(this.key(topic, 'last'))) ?? undefined;
    return {
      messages: entries.map((entry) => this.delivery(topic, entry, false)),
      complete: replayComplete(since, firstPrev),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.topics.clear();
    this.own.clear();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    const clients = this.ownsPub ? [this.sub, this.pub] : [this.sub];
    await Promise.all(clients.map(end));
  }

  // ---- connections ----

  private onReady(): void {
    if (this.closed || !this.isReady) return;
    this.emit('ready');
    this.sync();
  }

  /** Subscribes (again) every topic not subscribed on the current connection, and catches up. */
  private sync(): void {
    if (this.closed || !this.isReady) return;
    for (const [topic, state] of this.topics) {
      if (!state.subscribed) void this.establish(topic, state);
    }
  }

  private onSubscriberLost(): void {
    if (this.closed) return;
    for (const state of this.topics.values()) {
      state.generation++;
      state.subscribed = false;
      state.reading = false;
      state.feed.resync();
    }
    this.emit('disconnected');
  }

  /**
   * Subscribes to a topic's channel: the first time, the topic's last id is read first (the
   * starting point); then the log after the starting point is read, for what was published
   * meanwhile (or while the connection was down).
   */
  private async establish(topic: string, state: TopicState): Promise<void> {
    const generation = ++state.generation;
    state.subscribed = true;
    try {
      if (state.feed.last === undefined) {
        const last = await this.pub.get(this.key(topic, 'last'));
        if (this.stale(topic, state, generation)) return;
        state.feed.last = last ?? FIRST_PREV;
      }
      await this.sub.subscribe(this.channel(topic));
      if (this.stale(topic, state, generation)) return;
    } catch (error) {
      if (this.stale(topic, state, generation)) return;
      state.subscribed = false;
      // Redis is unreachable: what waited cannot go (the next ones will wait again).
      const waiting = state.waiting;
      if (waiting !== undefined && waiting.length > 0) {
        state.waiting = [];
        for (const { message } of waiting) this.failed(message, error as Error);
      }
      this.retryLater(error as Error);
      return;
    }
    // The log is read before this process's waiting publishes go (a shorter read).
    const caughtUp = this.catchUp(topic, state);
    this.flushWaiting(state);
    await caughtUp;
  }

  /** Reads the log after the last message delivered, and delivers it before what was held. */
  private async catchUp(topic: string, state: TopicState): Promise<void> {
    const generation = state.generation;
    state.reading = true;
    let entries: WireEntry[];
    try {
      entries = await this.readAfter(topic, state.feed.last!);
    } catch (error) {
      if (this.stale(topic, state, generation)) return;
      state.reading = false;
      state.subscribed = false;
      this.retryLater(error as Error);
      return;
    }
    if (this.stale(topic, state, generation)) return;
    state.reading = false;
    const out: FeedOutput<WireEntry> = { deliver: [], gaps: [] };
    state.feed.synced(entries, out);
    this.emitOut(topic, out);
  }

  private stale(topic: string, state: TopicState, generation: number): boolean {
    return this.closed || this.topics.get(topic) !== state || state.generation !== generation;
  }

  private retryLater(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.sync();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  private async readAfter(topic: string, after: string): Promise<WireEntry[]> {
    const entries: WireEntry[] = [];
    const key = this.key(topic, 'log');
    let start = `(${after}`;
    for (;;) {
      const page = await this.pub.xrangeBuffer(key, start, '+', 'COUNT', PAGE);
      for (const [id, fields] of page) {
        const entry = decodeStreamEntry(id, fields, this.maxMessage);
        if (entry !== undefined) entries.push(entry);
        else
          this.onMalformed(
            'log',
            topic,
            fields.reduce((n, f) => n + f.length, 0),
          );
      }
      if (page.length < PAGE) return entries;
      start = `(${page[page.length - 1]![0].toString('latin1')}`;
    }
  }

  // ---- messages ----

  private onMessage(channel: Buffer, message: Buffer): void {
    if (this.closed) return;
    const name = channel.toString();
    if (!name.startsWith(this.prefix)) return;
    const topic = name.slice(this.prefix.length);
    const state = this.topics.get(topic);
    if (state === undefined) return;
    const entry = decodeChannelMessage(message, this.maxMessage);
    if (entry === undefined) {
      this.onMalformed('channel', topic, message.length);
      return;
    }
    const out: FeedOutput<WireEntry> = { deliver: [], gaps: [] };
    if (state.feed.receive(entry, out) && !state.reading) void this.catchUp(topic, state);
    this.emitOut(topic, out);
  }

  private emitOut(topic: string, out: FeedOutput<WireEntry>): void {
    const sink = this.sink;
    if (sink === undefined) return;
    for (const gap of out.gaps) {
      sink.undelivered({ reason: 'gap', topic, after: gap.after, before: gap.before });
    }
    for (const entry of out.deliver) sink.deliver(this.delivery(topic, entry, true));
  }

  private delivery(topic: string, entry: WireEntry, live: boolean): Delivery {
    let except: unknown;
    if (live && entry.origin === this.origin) {
      except = this.own.get(entry.token)?.except;
      this.own.delete(entry.token);
    }
    const { data, binary, compress, seq, prev } = entry;
    return { topic, data, binary, compress, seq, prev, except };
  }

  private rememberOwn(token: string, except: unknown): void {
    const now = Date.now();
    this.own.set(token, { except, at: now });
    // Tokens of publishes never seen back (a topic nobody here subscribes to) age out.
    if (this.own.size > 1000) {
      for (const [key, value] of this.own) {
        if (now - value.at < OWN_TTL_MS) break;
        this.own.delete(key);
      }
    }
  }

  private onMalformed(source: 'channel' | 'log', topic: string, bytes: number): void {
    this.malformed++;
    this.emit('malformed', { source, topic, bytes });
  }

  private failed(message: PubSubMessage, error: Error): void {
    const report: UndeliveredReport = {
      reason: 'publish-failed',
      topic: message.topic,
      message,
      error,
    };
    this.sink?.undelivered(report);
  }

  private key(topic: string, kind: 'log' | 'last' | 'bytes'): string {
    return `${this.prefix}${topic}:${kind}`;
  }

  private channel(topic: string): string {
    return `${this.prefix}${topic}`;
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

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new TypeError(`${name} must be a positive integer`);
  }
  return value;
}
