import type { Redis } from 'ioredis';

/** The options of a RedisAdapter (redis-adapter.ts). */
export interface RedisAdapterOptions {
  /** Where Redis is, when no `client` is given. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * An ioredis client to publish and read logs with. The adapter makes its subscriber
   * connection with `client.duplicate()`, defines two script commands on it (`tswsPublish`,
   * `tswsPublishMany`), and does not close it.
   */
  client?: Redis;
  /** Prefix of the keys and channels. Default `tsws:`. */
  prefix?: string;
  /**
   * Messages kept per topic for replay and for catching up after a disconnection: at least
   * this many (Redis trims whole nodes of its streams, so a few more may stay). Default 1000.
   */
  historyLength?: number;
  /**
   * Data bytes kept per topic's log, as well: the oldest messages go first beyond it. Default
   * 16 MiB.
   */
  historyBytes?: number;
  /**
   * The largest message (data bytes) carried: a larger publish fails (reported as
   * `publish-failed`), and a larger message read from Redis is ignored (a `malformed` event).
   * Default 1 MiB; raise it with the server's `maxPayload` if messages may be larger.
   */
  maxMessage?: number;
  /** Milliseconds a topic's log lives after its last publish. Default 24 hours. */
  historyTtl?: number;
}

/** The events of a RedisAdapter. */
export interface RedisAdapterEvents {
  /** Both connections are up (again). */
  ready: [];
  /** A connection to Redis was lost; the adapter reconnects and catches up by itself. */
  disconnected: [];
  /** An error from Redis (emitted only when listened to: connection errors are retried). */
  error: [error: Error];
  /**
   * Something read from Redis was not a message of ours (forged, damaged, or over
   * `maxMessage`): it was ignored. `malformed` counts them.
   */
  malformed: [info: MalformedInfo];
}

/** What a `malformed` event reports. */
export interface MalformedInfo {
  /** Where it came from: a topic's channel, or its log. */
  readonly source: 'channel' | 'log';
  readonly topic: string;
  /** Its size in bytes. */
  readonly bytes: number;
}
