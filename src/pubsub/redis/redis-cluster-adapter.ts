import type { Cluster, ClusterNode, ClusterOptions } from 'ioredis';
import { RedisClusterLog } from './redis-cluster-log.js';
import { RedisLogAdapter } from './redis-log-adapter.js';
import type { RedisAdapterOptions } from './redis-options.js';

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
export class RedisClusterAdapter extends RedisLogAdapter<RedisClusterLog> {
  constructor(options: RedisClusterAdapterOptions = {}) {
    super(options);
    const prefix = options.prefix ?? 'tsws:';
    // A brace in the prefix would become the hash tag: every topic in one slot.
    if (/[{}]/.test(prefix)) throw new TypeError('prefix must not contain "{" or "}"');
    this.useLog(
      new RedisClusterLog(
        {
          ...this.bounds,
          origin: this.origin,
          prefix,
          cluster: options.cluster,
          nodes: options.nodes ?? [{ host: '127.0.0.1', port: 6379 }],
          clusterOptions: options.clusterOptions,
        },
        this,
      ),
    );
  }
}
