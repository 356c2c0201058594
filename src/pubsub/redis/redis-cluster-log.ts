import type { EventEmitter } from 'node:events';
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { LogBackend, LogEntry, LogFeed, LogRecord } from '../log-backend.js';
import { keySlot } from './key-slot.js';
import {
  appendArgs,
  appendManyArgs,
  channelEntries,
  readLog,
  type TopicKeys,
} from './log-commands.js';
import { OwnerGate } from './owner-gate.js';
import type { RedisAdapterEvents } from './redis-options.js';
import { PUBLISH_MANY_SCRIPT, PUBLISH_SCRIPT } from './wire.js';

/** What the adapter settles before making the log (redis-cluster-adapter.ts checks the options). */
export interface RedisClusterLogSettings {
  readonly origin: string;
  readonly prefix: string;
  readonly historyLength: number;
  readonly historyBytes: number;
  readonly historyTtl: number;
  readonly maxMessage: number;
  readonly cluster: Cluster | undefined;
  readonly nodes: readonly ClusterNode[];
  readonly clusterOptions: ClusterOptions | undefined;
}

/**
 * The append script of wire.ts with the entry fanned out on the topic's shard channel
 * (SPUBLISH, Redis 7.0 / Valkey 7.2): the channel hashes to the slot of the topic's keys, so
 * the script runs on one shard and its subscribers there get the entry.
 */
export const CLUSTER_PUBLISH_SCRIPT = PUBLISH_SCRIPT.replace(
  "redis.call('PUBLISH',",
  "redis.call('SPUBLISH',",
);

/** The batch append of wire.ts (one script call, one channel message), on the shard channel. */
export const CLUSTER_PUBLISH_MANY_SCRIPT = PUBLISH_MANY_SCRIPT.replace(
  "redis.call('PUBLISH',",
  "redis.call('SPUBLISH',",
);

type PublishCommand = (...args: (string | number | Buffer)[]) => Promise<string>;

/** The least time between two resubscriptions of every topic (a dead node refuses at once). */
const RESYNC_MS = 250;

/**
 * Topic logs in a Redis Cluster (Redis 7.0 or Valkey 7.2 and later), sharded by topic: the
 * keys of a topic (its stream, its last id, its byte count) and its shard channel share the
 * hash tag `{topic}`, so they live in one slot, the append script is atomic on the shard that
 * owns it, and the script's SPUBLISH reaches the subscribers of that shard only. Commands go
 * through an ioredis `Cluster` (which follows MOVED and ASK); subscriptions are SSUBSCRIBE on
 * a connection of this log's own to the master that owns the topic's slot.
 *
 * A subscription is cut when its node dies (a failover follows) or when its slot moves to
 * another node (the node tells with an unsolicited SUNSUBSCRIBE; a slot map read every 5 s
 * catches a move nobody told). Either way the feed is reported `lost` and then `ready` again
 * once the slot map is read again: the adapter subscribes every topic again (now at its
 * slot's owner) and reads the logs after the last entries it delivered, reporting what they
 * no longer have. Appends to a topic keep their order through a change of owner (OwnerGate).
 */
export class RedisClusterLog implements LogBackend {
  readonly cluster: Cluster;
  /** Messages read from Redis and ignored as not ours (see the `malformed` event). */
  malformed = 0;
  private readonly ownsCluster: boolean;
  /** One subscriber connection per master that owns a subscribed topic's slot, by node key. */
  private readonly subscribers = new Map<string, Redis>();
  /** Subscribed topics: their slot, the node they were subscribed at; `stale` in a resync. */
  private readonly topics = new Map<string, { slot: number; node: string; stale: boolean }>();
  /** A process's appends to a topic keep their order through a change of owner. */
  private readonly gate = new OwnerGate(
    (topic) => this.cluster.slots[keySlot(this.channel(topic))]?.[0],
  );
  private feed: LogFeed | undefined;
  private closed = false;
  private resyncing = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lastResync = 0;

  constructor(
    private readonly settings: RedisClusterLogSettings,
    private readonly events: EventEmitter<RedisAdapterEvents>,
  ) {
    if (settings.cluster !== undefined) {
      this.cluster = settings.cluster;
      this.ownsCluster = false;
    } else {
      // Nothing waits for a connection: a publish either goes now or is reported. A command
      // cut by a lost connection is not sent again (it may have run: a publish twice), nor
      // one refused with CLUSTERDOWN (a later publish could overtake it); MOVED and ASK are
      // followed at once, in order.
      this.cluster = new Cluster([...settings.nodes], {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        // The slot map is read every 5 s too: a subscription at a node that no longer owns
        // its slot is made again even if the node never said so (onRefresh).
        slotsRefreshInterval: 5000,
        clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
        ...settings.clusterOptions,
        redisOptions: {
          connectionName: `tsws:${settings.origin}:pub`,
          ...settings.clusterOptions?.redisOptions,
        },
      });
      this.ownsCluster = true;
    }
    this.cluster.defineCommand('tswsClusterPublish', {
      numberOfKeys: 4,
      lua: CLUSTER_PUBLISH_SCRIPT,
    });
    this.cluster.defineCommand('tswsClusterPublishMany', {
      numberOfKeys: 4,
      lua: CLUSTER_PUBLISH_MANY_SCRIPT,
    });
    this.cluster.on('ready', this.onClusterReady);
    this.cluster.on('error', this.onClusterError);
    this.cluster.on('close', this.onClusterClose);
    this.cluster.on('refresh', this.onClusterRefresh);
  }

  // Listeners on the cluster client, taken off at close (it may be the application's).
  private readonly onClusterReady = () => this.onReady();
  private readonly onClusterError = (error: Error) => this.onError(error);
  private readonly onClusterClose = () => {
    if (!this.closed) this.events.emit('disconnected');
  };
  private readonly onClusterRefresh = () => this.onRefresh();

  start(feed: LogFeed): void {
    this.feed = feed;
  }

  /** Whether the cluster client is up and no resubscription is under way. */
  get isReady(): boolean {
    return this.cluster.status === 'ready' && !this.resyncing;
  }

  unavailable(): Error | undefined {
    const status = this.cluster.status;
    return status === 'ready'
      ? undefined
      : new Error(`not connected to the Redis Cluster (${status})`);
  }

  append(topic: string, record: LogRecord): Promise<string> {
    return this.gate.run(topic, () => this.publish(topic, record));
  }

  /**
   * A tick's publishes of one topic as one script call and one shard-channel message (see
   * RedisLog.appendMany); records of mixed origins go one by one.
   */
  appendMany(topic: string, records: readonly LogRecord[]): Promise<string> {
    const args = appendManyArgs(this.keys(topic), this.channel(topic), records, this.settings);
    if (args instanceof Error) return Promise.reject(args);
    if (args === 'each') {
      return Promise.all(records.map((record) => this.append(topic, record))).then(
        (ids) => ids[ids.length - 1]!,
      );
    }
    const publish = (this.cluster as unknown as { tswsClusterPublishMany: PublishCommand })
      .tswsClusterPublishMany;
    return this.gate.run(topic, () => publish.call(this.cluster, ...args));
  }

  private publish(topic: string, record: LogRecord): Promise<string> {
    const publish = (this.cluster as unknown as { tswsClusterPublish: PublishCommand })
      .tswsClusterPublish;
    const args = appendArgs(this.keys(topic), this.channel(topic), record, this.settings);
    return publish.call(this.cluster, ...args);
  }

  read(topic: string, after: string): Promise<LogEntry[]> {
    return readLog(
      (...args) => this.cluster.xrangeBuffer(...args),
      this.key(topic, 'log'),
      after,
      this.settings.maxMessage,
      (bytes) => this.onMalformed('log', topic, bytes),
    );
  }

  async last(topic: string): Promise<string | undefined> {
    return (await this.cluster.get(this.key(topic, 'last'))) ?? undefined;
  }

  async subscribe(topic: string): Promise<void> {
    const channel = this.channel(topic);
    const slot = keySlot(channel);
    const node = this.cluster.slots[slot]?.[0];
    if (node === undefined) {
      this.refreshSlots();
      throw new Error(`no node of the Redis Cluster owns the slot of "${topic}" yet`);
    }
    const before = this.topics.get(topic);
    if (before !== undefined && before.node !== node) this.unsubscribeAt(before.node, channel);
    this.topics.set(topic, { slot, node, stale: false });
    try {
      await this.subscriber(node).ssubscribe(channel);
    } catch (error) {
      if (this.topics.get(topic)?.node === node) this.topics.delete(topic);
      // Most likely the slot map is out of date (MOVED, or a dead node): the next try reads it.
      this.refreshSlots();
      throw error;
    }
  }

  unsubscribe(topic: string): void {
    const entry = this.topics.get(topic);
    if (entry === undefined) return;
    this.topics.delete(topic);
    this.unsubscribeAt(entry.node, this.channel(topic));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.resyncTimer !== undefined) clearTimeout(this.resyncTimer);
    const ends: Promise<void>[] = [];
    for (const sub of this.subscribers.values()) ends.push(end(sub));
    this.subscribers.clear();
    this.topics.clear();
    this.cluster.off('ready', this.onClusterReady);
    this.cluster.off('error', this.onClusterError);
    this.cluster.off('close', this.onClusterClose);
    this.cluster.off('refresh', this.onClusterRefresh);
    if (this.ownsCluster) ends.push(end(this.cluster));
    return Promise.all(ends).then(() => {});
  }

  // ---- subscriber connections ----

  /** The subscriber connection to the master `node` ("host:port"), made on first use. */
  private subscriber(node: string): Redis {
    const existing = this.subscribers.get(node);
    if (existing !== undefined) return existing;
    const options: RedisOptions = {
      connectionName: `tsws:${this.settings.origin}:ssub`,
      // This log decides where to subscribe again: a dead node is not waited for.
      retryStrategy: () => null,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    };
    const pooled = this.cluster
      .nodes('all')
      .find((n) => `${n.options.host}:${n.options.port}` === node);
    let sub: Redis;
    if (pooled !== undefined) sub = pooled.duplicate(options);
    else {
      const at = node.lastIndexOf(':');
      sub = new Redis({
        ...this.cluster.options.redisOptions,
        ...options,
        host: node.slice(0, at),
        port: Number(node.slice(at + 1)),
      });
    }
    this.subscribers.set(node, sub);
    let live = false;
    sub.on('ready', () => {
      live = true;
    });
    sub.on('error', (error: Error) => this.onError(error));
    sub.on('close', () => {
      if (this.subscribers.get(node) !== sub) return;
      this.subscribers.delete(node);
      sub.disconnect();
      // A connection that never was up cut nothing: its SSUBSCRIBE fails and is tried again.
      if (live) this.resync();
    });
    // An unsolicited SUNSUBSCRIBE (the slot moved away) or a MOVED answer to SSUBSCRIBE.
    sub.on('moved', () => {
      if (this.subscribers.get(node) === sub) this.resync();
    });
    sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
      // Whatever arrives on a channel, nothing is thrown into ioredis's parser.
      try {
        this.onMessage(channel, message);
      } catch {
        this.onMalformed('channel', String(channel), message?.length ?? 0);
      }
    });
    return sub;
  }

  private unsubscribeAt(node: string, channel: string): void {
    const sub = this.subscribers.get(node);
    if (sub?.status === 'ready') sub.sunsubscribe(channel).catch(() => {});
  }

  /**
   * Some subscriptions were cut: the feed is lost, the slot map read again, and the adapter
   * subscribes every topic again (at its slot's owner now) and catches up from the logs.
   */
  private resync(): void {
    if (this.closed || this.resyncTimer !== undefined) return;
    if (!this.resyncing) {
      this.resyncing = true;
      for (const entry of this.topics.values()) entry.stale = true;
      this.feed?.lost();
      this.events.emit('disconnected');
    }
    const wait = Math.max(0, this.lastResync + RESYNC_MS - Date.now());
    this.resyncTimer = setTimeout(() => {
      this.refreshSlots(() => {
        this.resyncTimer = undefined;
        this.lastResync = Date.now();
        if (this.closed) return;
        this.resyncing = false;
        this.onReady();
      });
    }, wait);
    this.resyncTimer.unref();
  }

  /** Reads the slot map again; `then` runs once it is read, or failed, or after 2 s at most. */
  private refreshSlots(then?: () => void): void {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      then?.();
    };
    const timer = setTimeout(finish, 2000);
    timer.unref();
    this.cluster.refreshSlotsCache(finish);
  }

  /**
   * The slot map was read: a topic whose slot has another owner now lost its live feed, even
   * if its old node did not say so (a node that only changed role, a missed SUNSUBSCRIBE).
   */
  private onRefresh(): void {
    if (this.closed || this.resyncing) return;
    for (const entry of this.topics.values()) {
      const owner = this.cluster.slots[entry.slot]?.[0];
      if (owner !== undefined && owner !== entry.node) {
        this.resync();
        return;
      }
    }
  }

  private onReady(): void {
    if (this.closed || !this.isReady) return;
    this.events.emit('ready');
    this.feed?.ready();
    // Every topic the adapter still wants was subscribed again just now (or will be once its
    // last id is read): what is still stale was left meanwhile.
    for (const [topic, entry] of this.topics) {
      if (!entry.stale) continue;
      this.topics.delete(topic);
      this.unsubscribeAt(entry.node, this.channel(topic));
    }
  }

  // ---- messages ----

  private onMessage(channel: Buffer, message: Buffer): void {
    if (this.closed) return;
    const name = channel.toString();
    const head = `${this.settings.prefix}{`;
    if (!name.startsWith(head) || !name.endsWith('}')) return;
    const topic = untag(name.slice(head.length, -1));
    const entries = channelEntries(message, this.settings.maxMessage);
    if (entries === undefined) this.onMalformed('channel', topic, message.length);
    else for (const entry of entries) this.feed?.entry(topic, entry);
  }

  private onMalformed(source: 'channel' | 'log', topic: string, bytes: number): void {
    this.malformed++;
    this.events.emit('malformed', { source, topic, bytes });
  }

  private onError(error: Error): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
  }

  // The hash tag {topic} puts a topic's keys and channel in one slot.

  private keys(topic: string): TopicKeys {
    return [
      this.key(topic, 'log'),
      this.key(topic, 'last'),
      this.key(topic, 'bytes'),
      this.key(topic, 'sizes'),
    ];
  }

  private key(topic: string, kind: 'log' | 'last' | 'bytes' | 'sizes'): string {
    return `${this.settings.prefix}{${tag(topic)}}:${kind}`;
  }

  private channel(topic: string): string {
    return `${this.settings.prefix}{${tag(topic)}}`;
  }
}

/**
 * A topic as its hash tag. An empty tag (an empty topic, or one beginning with `}`) would be
 * no tag at all, each key hashed whole into a slot of its own: such topics, and those
 * beginning with `~` (so that `untag` is exact), get a `~` in front.
 */
export function tag(topic: string): string {
  const first = topic[0];
  return first === undefined || first === '}' || first === '~' ? `~${topic}` : topic;
}

export function untag(tagged: string): string {
  return tagged[0] === '~' ? tagged.slice(1) : tagged;
}

function end(client: Redis | Cluster): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return Promise.resolve();
  }
  return client.quit().then(
    () => {},
    () => client.disconnect(),
  );
}
