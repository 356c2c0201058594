import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Cluster, ClusterNode, ClusterOptions } from 'ioredis';
import type { AdapterSink, History, PubSubAdapter, PubSubMessage } from '../adapter.js';
import { LogAdapter } from '../log-adapter.js';
import { positiveInteger } from './redis-adapter.js';
import { RedisClusterLog } from './redis-cluster-log.js';
import type { RedisAdapterEvents, RedisAdapterOptions } from './redis-options.js';

/** The options of a RedisClusterAdapter: RedisAdapter's, with a cluster instead of a URL. */
export interface RedisClusterAdapterOptions extends Omit<RedisAdapterOptions, 'url' | 'client'> {
  /**
   * Nodes to find the cluster from, when no `cluster` is given (ioredis's startup nodes).
   * Default `[{ host: '127.0.0.1', port: 6379 }]`.
   */
  nodes?: ClusterNode[];
  /** Options of the ioredis `Cluster` the adapter makes (not used with `cluster`). */
  clusterOptions?: ClusterOptions;
  /**
   * An ioredis `Cluster` to publish and read logs with. The adapter defines a script command
   * on it (`tswsClusterPublish`), makes its own subscriber connections (one per master that
   * owns a subscribed topic), and does not close it.
   */
  cluster?: Cluster;
}

/**
 * Pub/sub across processes through a Redis Cluster (Redis 7.0, Valkey 7.2 or later), sharded
 * by topic: each topic's log, last id and shard channel live in the slot of the hash tag
 * `{topic}`, so a topic's publishes and fan-out load one shard, and topics spread over all.
 * Publishes fan out with SPUBLISH, subscriptions are SSUBSCRIBE at the slot's owner.
 *
 * It keeps RedisAdapter's guarantees (one order per topic, each message once, gaps reported,
 * nothing queued while unavailable) through slot migrations and failovers: a subscription cut
 * by either is made again at the slot's new owner, and the topic's log is read from the last
 * message delivered (redis-cluster-log.ts).
 */
export class RedisClusterAdapter extends EventEmitter<RedisAdapterEvents> implements PubSubAdapter {
  /** This process's id in the messages it publishes. */
  readonly origin = randomBytes(8).toString('hex');
  /** The largest message carried (data bytes). */
  readonly maxMessage: number;
  private readonly log: RedisClusterLog;
  private readonly logAdapter: LogAdapter;

  constructor(options: RedisClusterAdapterOptions = {}) {
    super();
    const historyLength = positiveInteger('historyLength', options.historyLength ?? 1000);
    const historyTtl = positiveInteger('historyTtl', options.historyTtl ?? 24 * 60 * 60 * 1000);
    const historyBytes = positiveInteger('historyBytes', options.historyBytes ?? 16 * 1024 ** 2);
    this.maxMessage = positiveInteger('maxMessage', options.maxMessage ?? 1024 ** 2);
    const prefix = options.prefix ?? 'tsws:';
    // A brace in the prefix would become the hash tag: every topic in one slot.
    if (/[{}]/.test(prefix)) throw new TypeError('prefix must not contain "{" or "}"');
    this.log = new RedisClusterLog(
      {
        origin: this.origin,
        prefix,
        historyLength,
        historyBytes,
        historyTtl,
        maxMessage: this.maxMessage,
        cluster: options.cluster,
        nodes: options.nodes ?? [{ host: '127.0.0.1', port: 6379 }],
        clusterOptions: options.clusterOptions,
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

  /** Whether the cluster is reachable and no resubscription is under way. */
  get isReady(): boolean {
    return this.log.isReady;
  }

  /** Resolves once the cluster is reachable. */
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
